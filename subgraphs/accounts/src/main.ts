import { runService } from '@mercado/service-kit';
import { environment } from './environment.ts';
import { accountsService } from './index.ts';

await runService(accountsService, environment);
