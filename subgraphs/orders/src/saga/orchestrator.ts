import { randomUUID } from 'node:crypto';
import { appendToOutbox } from '@mercado/event-bus';
import { replyQueue, Worker, type SagaBus, type SagaMessage } from '@mercado/saga';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { burstTransactionOptions, type Db, type Tx } from '../db.ts';
import { OrderConfirmed } from '../events/OrderConfirmed.ts';
import { OrderStatusChanged, type OrderStatusSnapshot, type SagaSnapshot } from '../events/OrderStatusChanged.ts';
import { decide, firstStep, type Decision, type Outcome, type SagaType, type StepName } from './decide.ts';
import { remoteSteps, type SagaOrder } from './steps.ts';

export const ORCHESTRATOR = 'orders';

/** A remote step to send once the transaction that started it has committed. */
export interface Dispatch {
  sagaId: string;
  step: StepName;
  order: SagaOrder;
}

interface SagaRow {
  id: string;
  orderId: string;
  type: SagaType;
  state: string;
  currentStep: StepName | null;
  failureReason: string | null;
}

async function loadSagaOrder(tx: Tx | Db, saga: Pick<SagaRow, 'orderId' | 'type'>): Promise<SagaOrder> {
  const order = await tx.order.findUniqueOrThrow({ where: { id: saga.orderId }, include: { lines: { orderBy: { position: 'asc' } } } });
  const placeSaga =
    saga.type === 'cancelOrder' ? await tx.saga.findFirst({ where: { orderId: order.id, type: 'placeOrder' }, select: { id: true } }) : null;
  return {
    id: order.id,
    userId: order.userId,
    totalCents: order.totalCents,
    currency: order.currency,
    lines: order.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    ...(placeSaga ? { placeSagaId: placeSaga.id } : {}),
  };
}

/** The order's fields an OrderStatusChanged carries, as a status update returns them. */
const statusFields = { id: true, userId: true, status: true, rejectionReason: true, version: true } as const;

/** The orchestrator's own steps: order status changes, in the saga's transaction. */
async function runLocalStep(tx: Tx, step: StepName, orderId: string, failureReason: string | null): Promise<OrderStatusSnapshot> {
  if (step === 'confirmOrder') {
    const order = await tx.order.update({
      where: { id: orderId },
      data: { status: 'CONFIRMED', version: { increment: 1 } },
      include: { lines: true },
    });
    await appendToOutbox(tx, OrderConfirmed(order));
    return order;
  } else if (step === 'rejectOrder') {
    return tx.order.update({
      where: { id: orderId },
      data: { status: 'REJECTED', rejectionReason: failureReason, version: { increment: 1 } },
      select: statusFields,
    });
  } else if (step === 'cancelOrder') {
    return tx.order.update({ where: { id: orderId }, data: { status: 'CANCELLED', version: { increment: 1 } }, select: statusFields });
  }
  throw new Error(`${step} is not a local step`);
}

/**
 * Announces the order's status and its saga's state as this transaction leaves them. `order` is
 * the row a status update returned; without one (a saga started or finished, the status as it
 * was) the order's version is bumped here, so every announcement has a version of its own.
 */
async function announce(tx: Tx, orderId: string, order: OrderStatusSnapshot | null, saga: SagaSnapshot): Promise<void> {
  const current = order ?? (await tx.order.update({ where: { id: orderId }, data: { version: { increment: 1 } }, select: statusFields }));
  await appendToOutbox(tx, OrderStatusChanged(current, saga));
}

/**
 * Applies a decision: records the next step, runs it at once if it is local, and keeps going
 * until the saga waits on a participant (returned, to send after commit) or finishes.
 */
async function advance(
  tx: Tx,
  saga: SagaRow,
  order: SagaOrder,
  decision: Decision,
  start?: { created: OrderStatusSnapshot | null },
): Promise<Dispatch | null> {
  let changed = start?.created ?? null;
  let position = (await tx.sagaStep.count({ where: { sagaId: saga.id } })) + 1;
  let failureReason = saga.failureReason;
  for (;;) {
    if (decision.kind === 'finish') {
      failureReason = decision.failureReason ?? failureReason;
      await tx.saga.update({ where: { id: saga.id }, data: { state: decision.state, currentStep: null, failureReason } });
      await announce(tx, order.id, changed, { state: decision.state, currentStep: null });
      return null;
    }
    failureReason = decision.failureReason ?? failureReason;
    await tx.sagaStep.create({ data: { sagaId: saga.id, name: decision.step, position: position++, status: 'RUNNING' } });
    await tx.saga.update({ where: { id: saga.id }, data: { state: decision.state, currentStep: decision.step, failureReason } });
    if (remoteSteps[decision.step]) {
      // A status change on the way, or a saga that has just started, is announced.
      if (changed || start) await announce(tx, order.id, changed, { state: decision.state, currentStep: decision.step });
      return { sagaId: saga.id, step: decision.step, order };
    }
    changed = await runLocalStep(tx, decision.step, order.id, failureReason);
    await tx.sagaStep.update({
      where: { sagaId_name: { sagaId: saga.id, name: decision.step } },
      data: { status: 'SUCCEEDED', finishedAt: new Date(), attempts: 1 },
    });
    decision = decide(saga.type, decision.step, { ok: true }, failureReason);
  }
}

/**
 * Creates a saga for an order inside the caller's transaction; returns the first command to send.
 * `created` is the order a placeOrder has just inserted (its first version is announced as is).
 */
export async function startSaga(tx: Tx, type: SagaType, orderId: string, created: OrderStatusSnapshot | null = null): Promise<{ sagaId: string; dispatch: Dispatch | null }> {
  const saga: SagaRow = { id: randomUUID(), orderId, type, state: 'RUNNING', currentStep: null, failureReason: null };
  await tx.saga.create({ data: { id: saga.id, orderId, type, state: 'RUNNING' } });
  const order = await loadSagaOrder(tx, saga);
  return { sagaId: saga.id, dispatch: await advance(tx, saga, order, { kind: 'next', step: firstStep[type], state: 'RUNNING' }, { created }) };
}

/**
 * One reply or deadline, applied in one transaction with the saga row locked. A message for a
 * step the saga no longer waits on (a duplicate, or an answer after its deadline) changes
 * nothing; it only re-sends the step the saga does wait on, in case a crash lost that send.
 */
export async function handleSagaMessage(db: Db, msg: SagaMessage): Promise<Dispatch | null> {
  return db.$transaction(async (tx) => {
    const [saga] = await tx.$queryRaw<SagaRow[]>`
      SELECT "id", "orderId", "type", "state", "currentStep", "failureReason" FROM "Saga" WHERE "id" = ${msg.sagaId}::uuid FOR UPDATE`;
    if (!saga) return null;
    const current = saga.currentStep;
    const inProgress = saga.state === 'RUNNING' || saga.state === 'COMPENSATING';
    if (current !== msg.step || !inProgress) {
      return inProgress && current && remoteSteps[current] ? { sagaId: saga.id, step: current, order: await loadSagaOrder(tx, saga) } : null;
    }
    let outcome: Outcome;
    if (msg.kind === 'deadline') {
      if (!remoteSteps[current]?.hasDeadline) return null;
      outcome = { ok: false, reason: 'TIMED_OUT', timedOut: true };
    } else {
      outcome = msg.result.ok ? { ok: true } : { ok: false, reason: msg.result.reason };
    }
    const detail = msg.kind === 'reply' && !msg.result.ok ? String(msg.result.message ?? msg.result.declineReason ?? '') : '';
    await tx.sagaStep.update({
      where: { sagaId_name: { sagaId: saga.id, name: current } },
      data: {
        status: outcome.ok ? 'SUCCEEDED' : outcome.timedOut ? 'TIMED_OUT' : 'FAILED',
        finishedAt: new Date(),
        error: outcome.ok ? null : detail ? `${outcome.reason}: ${detail}` : outcome.reason,
        ...(msg.kind === 'reply' && msg.attempts ? { attempts: msg.attempts } : {}),
      },
    });
    const order = await loadSagaOrder(tx, saga);
    return advance(tx, saga, order, decide(saga.type, current, outcome, saga.failureReason));
  }, burstTransactionOptions);
}

/**
 * Sends a remote step's command, and its deadline if it has one. `resend` (the sweep) also
 * revives whichever of the step's command, reply or deadline failed for good.
 */
export async function dispatch(bus: SagaBus, d: Dispatch, stepTimeoutMs: number, resend = false): Promise<void> {
  const def = remoteSteps[d.step]!;
  await bus.sendCommand(
    def.participant,
    { sagaId: d.sagaId, step: d.step, command: def.command, payload: def.payload(d.order), replyTo: replyQueue(ORCHESTRATOR) },
    { resend },
  );
  if (def.hasDeadline) await bus.scheduleDeadline(ORCHESTRATOR, d.sagaId, d.step, stepTimeoutMs, { resend });
}

export interface OrchestratorOptions {
  db: Db;
  bus: SagaBus;
  logger: Logger;
  stepTimeoutMs: number;
  sweepIntervalMs?: number;
}

/**
 * The orders process's saga worker: applies replies and deadlines, sends what comes next, and
 * every few seconds re-sends the current step of sagas that have not moved (a crash between a
 * commit and a send loses nothing; job ids make the re-send a no-op otherwise, and it revives
 * the step's command, reply or deadline if one failed for good after its worker died twice).
 */
export function startOrchestrator(opts: OrchestratorOptions): { close: () => Promise<void>; sweep: () => Promise<number> } {
  const connection = new Redis(opts.bus.config.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<SagaMessage>(
    replyQueue(ORCHESTRATOR),
    async (job) => {
      const msg = job.data;
      const next = await handleSagaMessage(opts.db, msg);
      if (next) await dispatch(opts.bus, next, opts.stepTimeoutMs);
      // The step has answered: its deadline, if still waiting, would fire later as a no-op.
      if (msg.kind === 'reply' && remoteSteps[msg.step as StepName]?.hasDeadline) {
        await opts.bus
          .cancelDeadline(ORCHESTRATOR, msg.sagaId, msg.step)
          .catch((err) => opts.logger.warn({ err: (err as Error).message, sagaId: msg.sagaId, step: msg.step }, 'could not drop a saga deadline'));
      }
    },
    { connection, prefix: opts.bus.config.prefix, concurrency: 20, ...opts.bus.config.worker },
  );
  worker.on('failed', (job, err) => opts.logger.warn({ err: err.message, job: job?.id }, 'saga message failed; will retry'));
  worker.on('error', (err) => opts.logger.warn({ err: err.message }, 'saga worker error'));

  const sweep = async (): Promise<number> => {
    const idle = await opts.db.saga.findMany({
      where: { state: { in: ['RUNNING', 'COMPENSATING'] }, updatedAt: { lt: new Date(Date.now() - 2_000) } },
      orderBy: { updatedAt: 'asc' },
      take: 500,
    });
    let resent = 0;
    for (const saga of idle) {
      const step = saga.currentStep as StepName | null;
      if (!step || !remoteSteps[step]) continue;
      await dispatch(opts.bus, { sagaId: saga.id, step, order: await loadSagaOrder(opts.db, saga as SagaRow) }, opts.stepTimeoutMs, true);
      resent++;
    }
    return resent;
  };
  let sweeping = Promise.resolve();
  const timer = setInterval(() => {
    sweeping = sweep().then(
      () => {},
      (err) => opts.logger.warn({ err: (err as Error).message }, 'saga sweep failed'),
    );
  }, opts.sweepIntervalMs ?? 5_000);

  return {
    sweep,
    close: async () => {
      clearInterval(timer);
      await sweeping;
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
