import { runService } from '@mercado/service-kit';
import { environment } from './environment.ts';
import { ordersService } from './index.ts';

await runService(ordersService, environment);
