import { newEvent } from '@mercado/event-bus';
import type { Product } from '../generated/prisma/client.ts';
import { productState } from './productState.ts';

/** The product's current state, published again on request so a consumer can rebuild its replica. */
export const ProductSnapshotPublished = (p: Product) => newEvent('catalog', 'ProductSnapshotPublished', p.id, p.version, productState(p));
