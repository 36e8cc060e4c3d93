import type { OrderLine as OrderLineRow } from '../domain/orders.ts';

export const OrderLine = {
  product: (line: OrderLineRow) => ({ id: line.productId }),
  lineTotalCents: (line: OrderLineRow) => line.quantity * line.unitPriceCents,
};
