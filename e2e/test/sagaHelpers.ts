import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { postGraphQL } from '@mercado/service-kit/testing';
import type { InProcessStack } from '../src/index.ts';

export const ORDER_FIELDS = `id status totalCents rejectionReason
  lines { quantity unitPriceCents product { id } }
  payment { status amountCents }
  saga { id type state currentStep failureReason steps { name status attempts startedAt finishedAt error } }`;

export interface Line {
  productId: string;
  quantity: number;
}

export async function placeOrder(stack: InProcessStack, auth: Record<string, string>, lines: Line[], idempotencyKey = `key-${randomUUID()}`) {
  return postGraphQL<any>(
    stack.gateway.url,
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`,
    { input: { lines, idempotencyKey } },
    auth,
  );
}

export async function readOrder(stack: InProcessStack, auth: Record<string, string>, id: string) {
  const { body } = await postGraphQL<any>(stack.gateway.url, `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id }, auth);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data.order;
}

/** Polls until the order's saga has finished (or the time is up). */
export async function settled(stack: InProcessStack, auth: Record<string, string>, id: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const order = await readOrder(stack, auth, id);
    // The order row and its saga are read by separate queries; once the saga has finished
    // nothing changes any more, so one more read sees both in their final state.
    if (order.saga && !['RUNNING', 'COMPENSATING'].includes(order.saga.state)) return readOrder(stack, auth, id);
    if (Date.now() > deadline) throw new Error(`saga of order ${id} still ${order.saga?.state} at ${order.saga?.currentStep}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Direct reads of the participants' databases, to check invariants behind the API. */
export function ledgers(stack: InProcessStack) {
  const inventory = new pg.Pool({ connectionString: stack.databaseUrls.inventory, max: 2 });
  const payments = new pg.Pool({ connectionString: stack.databaseUrls.payments, max: 2 });
  return {
    /** Per product: available, reserved, and units sold (committed reservations). */
    async stock(productIds: string[]) {
      const { rows } = await inventory.query(
        `SELECT s."productId", s.available, s.reserved,
                COALESCE((SELECT sum(r.quantity) FROM "Reservation" r WHERE r."productId" = s."productId" AND r.status = 'COMMITTED'), 0)::int AS sold
           FROM "StockItem" s WHERE s."productId" = ANY($1::uuid[]) ORDER BY s."productId"`,
        [productIds],
      );
      return Object.fromEntries(rows.map((r) => [r.productId, { available: r.available, reserved: r.reserved, sold: r.sold }]));
    },
    async account(customerId: string) {
      const { rows } = await payments.query(`SELECT "heldCents", "spentCents" FROM "PaymentAccount" WHERE "customerId" = $1`, [customerId]);
      return rows[0] as { heldCents: number; spentCents: number };
    },
    async payments(orderIds: string[]) {
      const { rows } = await payments.query(`SELECT "orderId", status, "amountCents" FROM "Payment" WHERE "orderId" = ANY($1::uuid[])`, [orderIds]);
      return rows as Array<{ orderId: string; status: string; amountCents: number }>;
    },
    async close() {
      await inventory.end();
      await payments.end();
    },
  };
}
