import { replyQueue, sagaCountsGauge, sagaMetrics, Worker, type SagaBus, type SagaMessage } from '@mercado/saga';
import { contextFromHeaders, inSpan, SpanKind } from '@mercado/telemetry';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db, Tx } from '../db.ts';
import type { OrderTransition } from '../domain/order.ts';
import { decide, firstStep, type Decision, type Outcome, type SagaType, type StepName } from './decide.ts';
import { localSteps, remoteSteps, type SagaOrder } from './steps.ts';
import { applyMove, idleSagas, insertSaga, loadSaga, sagasPastDeadline, type Move, type SagaRow, type SagaState, type StepRecord } from './store.ts';

export const ORCHESTRATOR = 'orders';

/** What a command's echo holds: the saga as it was when the step was sent. */
interface SagaEcho {
  type: SagaType;
  state: SagaState;
  failureReason: string | null;
  order: SagaOrder;
}

/**
 * A remote step to send once the statement that started it has committed, with what the saga is
 * then (its echo): the command carries that and the reply brings it back, so applying the reply
 * needs no read of the saga.
 */
export interface Dispatch extends SagaEcho {
  sagaId: string;
  step: StepName;
}

/** The saga as it was when the step was sent, from a reply's echo; null when the reply has none (an older participant). */
function echoedSaga(msg: SagaMessage): SagaRow | null {
  if (msg.kind !== 'reply' || typeof msg.echo !== 'object' || msg.echo === null) return null;
  const echo = msg.echo as Partial<SagaEcho>;
  if ((echo.type !== 'placeOrder' && echo.type !== 'cancelOrder') || !inProgress(echo.state!) || typeof echo.order?.id !== 'string') return null;
  const failureReason = typeof echo.failureReason === 'string' ? echo.failureReason : null;
  return { id: msg.sagaId, orderId: echo.order.id, type: echo.type, state: echo.state!, currentStep: msg.step as StepName, failureReason, order: echo.order };
}

/** The step a move (or a saga row: where it stands) leaves the saga waiting on, to send. */
export const nextDispatch = (
  saga: { id: string; type: SagaType; order: SagaOrder },
  move: Pick<Move, 'currentStep' | 'state' | 'failureReason'>,
): Dispatch | null =>
  move.currentStep ? { sagaId: saga.id, step: move.currentStep, order: saga.order, type: saga.type, state: move.state, failureReason: move.failureReason } : null;

/**
 * Follows a decision through the orchestrator's own (local) steps until the saga waits on a
 * participant or finishes: what to write, as one move. Pure, like decide() itself.
 */
export function planMove(type: SagaType, decision: Decision, failureReason: string | null, stepTimeoutMs: number, now = Date.now()): Move {
  const added: StepRecord[] = [];
  let transition: OrderTransition | null = null;
  for (;;) {
    if (decision.kind === 'finish') {
      return {
        added,
        state: decision.state,
        currentStep: null,
        failureReason: decision.failureReason ?? failureReason,
        deadlineAt: null,
        transition,
        announce: true,
      };
    }
    failureReason = decision.failureReason ?? failureReason;
    const remote = remoteSteps[decision.step];
    if (remote) {
      added.push({ name: decision.step, status: 'RUNNING' });
      return {
        added,
        state: decision.state,
        currentStep: decision.step,
        failureReason,
        deadlineAt: remote.hasDeadline ? new Date(now + stepTimeoutMs) : null,
        transition,
        // A status change on the way is announced; a step change alone is not.
        announce: transition !== null,
      };
    }
    added.push({ name: decision.step, status: 'SUCCEEDED' });
    transition = localSteps[decision.step]!;
    decision = decide(type, decision.step, { ok: true }, failureReason);
  }
}

/** The first move of a saga: its first step, announced (a saga that starts is news to the order's watchers). */
export function firstMove(type: SagaType, stepTimeoutMs: number): Move {
  return { ...planMove(type, { kind: 'next', step: firstStep[type], state: 'RUNNING' }, null, stepTimeoutMs), announce: true };
}

/**
 * Starts a saga over an existing order in the caller's transaction (a cancellation; placeOrder
 * writes its order and saga in one statement, see placeOrder.ts); returns the first command to send.
 */
export async function startSaga(tx: Tx | Db, type: SagaType, order: SagaOrder, stepTimeoutMs: number, sagaId: string): Promise<Dispatch | null> {
  const move = firstMove(type, stepTimeoutMs);
  await insertSaga(tx, { id: sagaId, orderId: order.id, type, order }, move);
  return nextDispatch({ id: sagaId, type, order }, move);
}

function inProgress(state: SagaState): boolean {
  return state === 'RUNNING' || state === 'COMPENSATING';
}

/** The step a saga waits on, to send (again), if it waits on a participant. */
const waitingOn = (saga: SagaRow): Dispatch | null =>
  inProgress(saga.state) && saga.currentStep && remoteSteps[saga.currentStep] ? nextDispatch(saga, saga) : null;

/**
 * One reply or deadline: read the saga, decide, and apply the move in one guarded statement. A
 * message for a step the saga no longer waits on (a duplicate, an answer after its deadline)
 * changes nothing; it only re-sends the step the saga does wait on, in case a crash lost that send.
 * A reply that echoes the saga as it was when its step was sent is applied in one statement (the
 * move, guarded by that state: a stale echo fails the guard and the saga is read); otherwise two
 * (the read and the move). No transaction.
 */
export async function handleSagaMessage(db: Db, msg: SagaMessage, stepTimeoutMs = 10_000): Promise<Dispatch | null> {
  for (let attempt = 0; ; attempt++) {
    const saga = (attempt === 0 && echoedSaga(msg)) || (await loadSaga(db, msg.sagaId));
    if (!saga) return null;
    const current = saga.currentStep;
    if (current !== msg.step || !inProgress(saga.state)) return waitingOn(saga);
    let outcome: Outcome;
    if (msg.kind === 'deadline') {
      if (!remoteSteps[current]?.hasDeadline) return null;
      outcome = { ok: false, reason: 'TIMED_OUT', timedOut: true };
    } else {
      outcome = msg.result.ok ? { ok: true } : { ok: false, reason: msg.result.reason };
    }
    const detail = msg.kind === 'reply' && !msg.result.ok ? String(msg.result.message ?? msg.result.declineReason ?? '') : '';
    const move = planMove(saga.type, decide(saga.type, current, outcome, saga.failureReason), saga.failureReason, stepTimeoutMs);
    move.ended = {
      name: current,
      status: outcome.ok ? 'SUCCEEDED' : outcome.timedOut ? 'TIMED_OUT' : 'FAILED',
      error: outcome.ok ? null : detail ? `${outcome.reason}: ${detail}` : outcome.reason,
      ...(msg.kind === 'reply' && msg.attempts ? { attempts: msg.attempts } : {}),
    };
    if (await applyMove(db, saga, { state: saga.state, step: current, failureReason: saga.failureReason }, move)) {
      if (msg.kind === 'reply' && msg.sentAt) sagaMetrics.stepDuration.observe({ step: current }, Math.max(0, Date.now() - msg.sentAt) / 1000);
      if (!outcome.ok && saga.state === 'RUNNING' && move.state !== 'RUNNING') sagaMetrics.compensations.inc({ type: saga.type, reason: outcome.reason });
      return nextDispatch(saga, move);
    }
    // Someone moved the saga between the read and the write: read again (it has moved on, so
    // this message is now a duplicate, unless the guard failed for another reason).
    if (attempt >= 3) throw new Error(`saga ${saga.id} could not be moved from ${saga.state}/${current}`);
  }
}

/** Sends a remote step's command. `resend` (the sweep) also revives the step's command or reply if it failed for good. */
export async function dispatch(bus: SagaBus, d: Dispatch, resend = false): Promise<void> {
  const def = remoteSteps[d.step]!;
  await bus.sendCommand(
    def.participant,
    {
      sagaId: d.sagaId,
      step: d.step,
      command: def.command,
      payload: def.payload(d.order),
      replyTo: replyQueue(ORCHESTRATOR),
      echo: { type: d.type, state: d.state, failureReason: d.failureReason, order: d.order } satisfies SagaEcho,
    },
    { resend },
  );
}

export interface OrchestratorOptions {
  db: Db;
  bus: SagaBus;
  logger: Logger;
  stepTimeoutMs: number;
  /** How often sagas idle for a few seconds get their current step re-sent. */
  sweepIntervalMs?: number;
  /** How often steps past their deadline are looked for (one indexed query). */
  deadlineIntervalMs?: number;
}

/**
 * The orders process's saga worker: applies replies, sends what comes next; a timer gives up on
 * steps past their deadline (stored in the saga row: one query finds them all, no delayed job
 * per step), and every few seconds re-sends the current step of sagas that have not moved (a
 * crash between a commit and a send loses nothing; job ids make the re-send a no-op otherwise,
 * and it revives the step's command or reply if one failed for good after its worker died twice).
 */
export function startOrchestrator(opts: OrchestratorOptions): { close: () => Promise<void>; sweep: () => Promise<number>; expire: () => Promise<number> } {
  const connection = new Redis(opts.bus.config.redisUrl, { maxRetriesPerRequest: null });
  sagaCountsGauge(async () =>
    (await opts.db.$queryRaw<Array<{ type: string; state: string; count: number }>>`SELECT "type"::text AS "type", "state"::text AS "state", count(*)::int AS "count" FROM "Saga" GROUP BY 1, 2`),
  );
  const worker = new Worker<SagaMessage>(
    replyQueue(ORCHESTRATOR),
    async (job) => {
      const msg = job.data;
      // The reply continues the trace of the participant's span, and the next command continues this one.
      await inSpan(
        `orders saga ${msg.kind} ${msg.step}`,
        { kind: SpanKind.CONSUMER, parent: contextFromHeaders(msg.kind === 'reply' ? msg.trace : undefined), attributes: { 'mercado.saga.id': msg.sagaId, 'mercado.saga.step': msg.step, 'messaging.system': 'bullmq' } },
        async () => {
          const next = await handleSagaMessage(opts.db, msg, opts.stepTimeoutMs);
          if (next) await dispatch(opts.bus, next);
        },
      );
    },
    { connection, prefix: opts.bus.config.prefix, concurrency: 20, ...opts.bus.workerLocks },
  );
  worker.on('failed', (job, err) => opts.logger.warn({ err: err.message, job: job?.id }, 'saga message failed; will retry'));
  worker.on('error', (err) => opts.logger.warn({ err: err.message }, 'saga worker error'));

  const sweep = async (): Promise<number> => {
    let resent = 0;
    for (const saga of await idleSagas(opts.db, 2_000, 500)) {
      const step = waitingOn(saga);
      if (!step) continue;
      await dispatch(opts.bus, step, true);
      resent++;
    }
    return resent;
  };
  const expire = async (): Promise<number> => {
    let expired = 0;
    for (const { id, currentStep } of await sagasPastDeadline(opts.db, 500)) {
      const next = await handleSagaMessage(opts.db, { kind: 'deadline', sagaId: id, step: currentStep }, opts.stepTimeoutMs);
      if (next) await dispatch(opts.bus, next);
      expired++;
    }
    return expired;
  };
  const every = (ms: number, task: () => Promise<unknown>, what: string) => {
    let running = Promise.resolve();
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      running = task().then(
        () => void (busy = false),
        (err) => {
          busy = false;
          opts.logger.warn({ err: (err as Error).message }, `saga ${what} failed`);
        },
      );
    }, ms);
    return { stop: async () => (clearInterval(timer), await running) };
  };
  const sweeper = every(opts.sweepIntervalMs ?? 5_000, sweep, 'sweep');
  const expirer = every(opts.deadlineIntervalMs ?? Math.max(50, Math.min(1_000, Math.floor(opts.stepTimeoutMs / 4))), expire, 'deadline check');

  return {
    sweep,
    expire,
    close: async () => {
      await sweeper.stop();
      await expirer.stop();
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
