import { newEvent } from '@mercado/event-bus';
import type { Product } from '../generated/prisma/client.ts';
import { productState } from './productState.ts';

/** A product's price changed; orders placed from now on use it. */
export const ProductPriceChanged = (p: Product, previousPriceCents: number) =>
  newEvent('catalog', 'ProductPriceChanged', p.id, p.version, { ...productState(p), previousPriceCents });
