import { runService } from '@mercado/service-kit';
import { inventoryService } from './index.ts';

await runService(inventoryService);
