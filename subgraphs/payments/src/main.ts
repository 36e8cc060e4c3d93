import { runService } from '@mercado/service-kit';
import { paymentsService } from './index.ts';

await runService(paymentsService);
