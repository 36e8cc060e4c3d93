import { newEvent } from '@mercado/event-bus';
import type { Product } from '../generated/prisma/client.ts';
import { productState } from './productState.ts';

/** A product was added to the catalog. */
export const ProductCreated = (p: Product) => newEvent('catalog', 'ProductCreated', p.id, p.version, productState(p));
