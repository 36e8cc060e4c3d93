import { runService } from '@mercado/service-kit';
import { ordersService } from './index.ts';

await runService(ordersService);
