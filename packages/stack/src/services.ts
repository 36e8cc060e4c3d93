import { accountsService } from '@mercado/accounts';
import { catalogService } from '@mercado/catalog';
import { inventoryService } from '@mercado/inventory';
import { ordersService } from '@mercado/orders';
import { paymentsService } from '@mercado/payments';
import { reviewsService } from '@mercado/reviews';
import type { ServiceModule } from '@mercado/service-kit';

/** Every subgraph in this repository, in start-up order (accounts first: the gateway needs its keys). */
export const services: ServiceModule[] = [accountsService, catalogService, inventoryService, ordersService, reviewsService, paymentsService];
