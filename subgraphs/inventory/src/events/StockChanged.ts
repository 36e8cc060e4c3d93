import { newEvent } from '@mercado/event-bus';

/** A product's stock levels changed (restock, reservation, release, sale). Carries both levels. */
export const StockChanged = (productId: string, version: number, stock: { available: number; reserved: number }) =>
  newEvent('inventory', 'StockChanged', productId, version, { available: stock.available, reserved: stock.reserved });

/** The current levels, published again so a consumer can rebuild its replica. */
export const StockSnapshotPublished = (productId: string, version: number, stock: { available: number; reserved: number }) =>
  newEvent('inventory', 'StockSnapshotPublished', productId, version, { available: stock.available, reserved: stock.reserved });
