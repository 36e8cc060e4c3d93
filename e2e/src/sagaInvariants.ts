import pg from 'pg';
import { seedProducts } from '@mercado/dev-seed';
import type { InProcessStack } from './inProcessStack.ts';

/**
 * The order saga's invariants, read straight from the three databases (orders, inventory,
 * payments) behind the API. `snapshot()` before a test places orders; `violations(before)`
 * afterwards lists every way the books disagree (empty when they all hold).
 */
export class SagaLedgers {
  readonly orders: pg.Pool;
  readonly inventory: pg.Pool;
  readonly payments: pg.Pool;

  constructor(stack: Pick<InProcessStack, 'databaseUrls'>) {
    this.orders = new pg.Pool({ connectionString: stack.databaseUrls.orders, max: 3 });
    this.inventory = new pg.Pool({ connectionString: stack.databaseUrls.inventory, max: 3 });
    this.payments = new pg.Pool({ connectionString: stack.databaseUrls.payments, max: 3 });
  }

  /** Waits until orders has replicated every catalog product (it prices new orders from that replica). */
  async untilCatalogReplicated(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.orders.query('SELECT count(*)::int AS n FROM "ProductReplica"');
      if (rows[0].n >= seedProducts.length) return;
      if (Date.now() > deadline) throw new Error(`orders has replicated ${rows[0].n} of ${seedProducts.length} products`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until no saga is running or compensating; names the ones still going when time is up. */
  async untilSagasFinished(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.orders.query(
        `SELECT id, type, state, "currentStep" FROM "Saga" WHERE state IN ('RUNNING', 'COMPENSATING') ORDER BY "updatedAt" LIMIT 5`,
      );
      if (!rows.length) return;
      if (Date.now() > deadline) throw new Error(`sagas still going: ${rows.map((r) => `${r.type} ${r.id} ${r.state} at ${r.currentStep}`).join('; ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stock per product (with units sold) and money per customer account, now. */
  async snapshot(): Promise<LedgerSnapshot> {
    const [stock, accounts] = await Promise.all([
      this.inventory.query(
        `SELECT s."productId", s.available, s.reserved,
                COALESCE((SELECT sum(r.quantity) FROM "Reservation" r WHERE r."productId" = s."productId" AND r.status = 'COMMITTED'), 0)::int AS sold
           FROM "StockItem" s`,
      ),
      this.payments.query(`SELECT "customerId", "heldCents", "spentCents" FROM "PaymentAccount"`),
    ]);
    return {
      stock: new Map(stock.rows.map((r) => [r.productId, { available: r.available, reserved: r.reserved, sold: r.sold }])),
      accounts: new Map(accounts.rows.map((r) => [r.customerId, { heldCents: r.heldCents, spentCents: r.spentCents }])),
    };
  }

  /** Every order placed through a saga, with its outcome. */
  async sagaOrders(): Promise<SagaOrder[]> {
    const { rows } = await this.orders.query(
      `SELECT o.id, o."userId", o.status, o."totalCents", o."rejectionReason", s.id AS "sagaId", s.state AS "sagaState",
              (SELECT c.state FROM "Saga" c WHERE c."orderId" = o.id AND c.type = 'cancelOrder') AS "cancelState",
              (SELECT json_agg(json_build_object('productId', l."productId", 'quantity', l.quantity)) FROM "OrderLine" l WHERE l."orderId" = o.id) AS lines
         FROM "Order" o JOIN "Saga" s ON s."orderId" = o.id AND s.type = 'placeOrder'`,
    );
    return rows;
  }

  /**
   * Checks, against `before` (taken before the orders were placed):
   * - every saga has finished: placed orders are CONFIRMED, REJECTED or CANCELLED, no saga FAILED;
   * - per product: nothing left reserved, available + reserved + sold unchanged, and the units
   *   sold since are exactly those of the confirmed orders' lines;
   * - per order: a confirmed order's reservation is COMMITTED line for line and its one payment
   *   CAPTURED for its total; a rejected order holds no reservation (RESERVED/COMMITTED) and no
   *   payment (AUTHORIZED/CAPTURED); a cancelled order's units are RETURNED and its payment REFUNDED;
   * - per account: nothing left held, and spent grew by exactly the confirmed orders' totals.
   * `restocked`: units added per product since `before` (by restocks the test made).
   */
  async violations(before: LedgerSnapshot, options: { restocked?: ReadonlyMap<string, number> } = {}): Promise<string[]> {
    const problems: string[] = [];
    const [orders, now, reservations, payments, sagas] = await Promise.all([
      this.sagaOrders(),
      this.snapshot(),
      this.inventory.query(`SELECT "sagaId", "productId", quantity, status FROM "Reservation"`),
      this.payments.query(`SELECT "orderId", "customerId", status, "amountCents" FROM "Payment"`),
      this.orders.query(`SELECT id, type, state, "failureReason" FROM "Saga" WHERE state NOT IN ('COMPLETED', 'COMPENSATED')`),
    ]);
    for (const s of sagas.rows) problems.push(`saga ${s.type} ${s.id} ended ${s.state} (${s.failureReason ?? 'no reason'})`);

    const soldByConfirmed = new Map<string, number>();
    const spentByConfirmed = new Map<string, number>();
    const reservationsBySaga = new Map<string, Array<{ productId: string; quantity: number; status: string }>>();
    for (const r of reservations.rows) reservationsBySaga.set(r.sagaId, [...(reservationsBySaga.get(r.sagaId) ?? []), r]);
    const paymentByOrder = new Map(payments.rows.map((p) => [p.orderId as string, p]));
    for (const order of orders) {
      const lines: Array<{ productId: string; quantity: number }> = order.lines;
      const held = reservationsBySaga.get(order.sagaId) ?? [];
      const payment = paymentByOrder.get(order.id);
      const linesMatch = (status: string) =>
        held.length === lines.length &&
        lines.every((l) => held.some((r) => r.productId === l.productId && r.quantity === l.quantity && r.status === status));
      const describe = `${order.status} order ${order.id}`;
      if (order.status === 'CONFIRMED') {
        for (const l of lines) soldByConfirmed.set(l.productId, (soldByConfirmed.get(l.productId) ?? 0) + l.quantity);
        spentByConfirmed.set(order.userId, (spentByConfirmed.get(order.userId) ?? 0) + order.totalCents);
        if (!linesMatch('COMMITTED')) problems.push(`${describe}: reservation ${JSON.stringify(held)} is not its lines, committed`);
        if (payment?.status !== 'CAPTURED' || payment.amountCents !== order.totalCents) {
          problems.push(`${describe} of ${order.totalCents}: payment ${JSON.stringify(payment ?? null)}`);
        }
      } else if (order.status === 'REJECTED') {
        if (held.some((r) => r.status === 'RESERVED' || r.status === 'COMMITTED')) problems.push(`${describe}: still holds ${JSON.stringify(held)}`);
        if (payment && (payment.status === 'AUTHORIZED' || payment.status === 'CAPTURED')) problems.push(`${describe}: payment ${payment.status}`);
      } else if (order.status === 'CANCELLED') {
        if (!linesMatch('RETURNED')) problems.push(`${describe}: reservation ${JSON.stringify(held)} is not its lines, returned`);
        if (payment?.status !== 'REFUNDED' || payment.amountCents !== order.totalCents) problems.push(`${describe}: payment ${JSON.stringify(payment ?? null)}`);
      } else {
        problems.push(`${describe} never finished (saga ${order.sagaState})`);
      }
    }

    for (const [productId, was] of before.stock) {
      const is = now.stock.get(productId)!;
      const initial = was.available + was.reserved + was.sold + (options.restocked?.get(productId) ?? 0);
      if (is.reserved !== 0) problems.push(`product ${productId}: ${is.reserved} units still reserved`);
      if (is.available + is.reserved + is.sold !== initial) problems.push(`product ${productId}: ${JSON.stringify(is)} no longer adds up to ${initial}`);
      const sold = is.sold - was.sold;
      if (sold !== (soldByConfirmed.get(productId) ?? 0)) problems.push(`product ${productId}: ${sold} units sold, confirmed orders have ${soldByConfirmed.get(productId) ?? 0}`);
    }
    for (const [customerId, is] of now.accounts) {
      const was = before.accounts.get(customerId) ?? { heldCents: 0, spentCents: 0 };
      if (is.heldCents !== 0) problems.push(`account ${customerId}: ${is.heldCents} cents still held`);
      const spent = is.spentCents - was.spentCents;
      if (spent !== (spentByConfirmed.get(customerId) ?? 0)) {
        problems.push(`account ${customerId}: spent ${spent} cents more, confirmed orders total ${spentByConfirmed.get(customerId) ?? 0}`);
      }
    }
    for (const customerId of spentByConfirmed.keys()) {
      if (!now.accounts.has(customerId)) problems.push(`customer ${customerId} has confirmed orders but no account`);
    }
    return problems;
  }

  async close(): Promise<void> {
    await Promise.all([this.orders.end(), this.inventory.end(), this.payments.end()]);
  }
}

export interface LedgerSnapshot {
  stock: Map<string, { available: number; reserved: number; sold: number }>;
  accounts: Map<string, { heldCents: number; spentCents: number }>;
}

export interface SagaOrder {
  id: string;
  userId: string;
  status: 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';
  totalCents: number;
  rejectionReason: string | null;
  sagaId: string;
  sagaState: string;
  cancelState: string | null;
  lines: Array<{ productId: string; quantity: number }>;
}
