import { runService } from '@mercado/service-kit';
import { environment } from './environment.ts';
import { inventoryService } from './index.ts';

await runService(inventoryService, environment);
