import { runService } from '@mercado/service-kit';
import { accountsService } from './index.ts';

await runService(accountsService);
