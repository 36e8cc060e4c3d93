import { runService } from '@mercado/service-kit';
import { environment } from './environment.ts';
import { paymentsService } from './index.ts';

await runService(paymentsService, environment);
