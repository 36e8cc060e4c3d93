/**
 * The order sagas as a pure state machine: given the step that just ended and how, what comes
 * next. No I/O here, so every path is covered by small unit specs (decide.test.ts).
 */
export type SagaType = 'placeOrder' | 'cancelOrder';

export type StepName =
  | 'reserveStock'
  | 'authorizePayment'
  | 'confirmOrder'
  | 'commitStock'
  | 'capturePayment'
  | 'voidPayment'
  | 'releaseStock'
  | 'rejectOrder'
  | 'refundPayment'
  | 'returnStock'
  | 'cancelOrder';

export type Outcome = { ok: true } | { ok: false; reason: string; timedOut?: boolean };

export type Decision =
  | { kind: 'next'; step: StepName; state: 'RUNNING' | 'COMPENSATING'; failureReason?: string }
  | { kind: 'finish'; state: 'COMPLETED' | 'COMPENSATED' | 'FAILED'; failureReason?: string };

export const firstStep: Record<SagaType, StepName> = { placeOrder: 'reserveStock', cancelOrder: 'refundPayment' };

/** Reasons a customer reads on a rejected order. */
export const RejectionReason = {
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  TIMED_OUT: 'TIMED_OUT',
} as const;

const next = (step: StepName, state: 'RUNNING' | 'COMPENSATING' = 'RUNNING', failureReason?: string): Decision => ({
  kind: 'next',
  step,
  state,
  ...(failureReason ? { failureReason } : {}),
});
const failed = (step: StepName, outcome: Outcome): Decision => ({
  kind: 'finish',
  state: 'FAILED',
  failureReason: `${step} failed: ${outcome.ok ? 'unknown' : outcome.reason}`,
});

/** `failureReason` is the saga's reason so far (set when compensation began). */
export function decide(type: SagaType, step: StepName, outcome: Outcome, failureReason?: string | null): Decision {
  if (type === 'cancelOrder') {
    if (!outcome.ok) return failed(step, outcome);
    if (step === 'refundPayment') return next('returnStock');
    if (step === 'returnStock') return next('cancelOrder');
    return { kind: 'finish', state: 'COMPLETED' };
  }
  switch (step) {
    case 'reserveStock':
      if (outcome.ok) return next('authorizePayment');
      // A reservation that timed out may still land later: release it (a no-op if it never did).
      if (outcome.timedOut) return next('releaseStock', 'COMPENSATING', RejectionReason.TIMED_OUT);
      return next('rejectOrder', 'COMPENSATING', outcome.reason === 'INSUFFICIENT_STOCK' ? RejectionReason.INSUFFICIENT_STOCK : outcome.reason);
    case 'authorizePayment':
      if (outcome.ok) return next('confirmOrder');
      if (outcome.timedOut) return next('voidPayment', 'COMPENSATING', RejectionReason.TIMED_OUT);
      return next('releaseStock', 'COMPENSATING', outcome.reason === 'PAYMENT_DECLINED' ? RejectionReason.PAYMENT_DECLINED : outcome.reason);
    case 'confirmOrder':
      return outcome.ok ? next('commitStock') : failed(step, outcome);
    case 'commitStock':
      return outcome.ok ? next('capturePayment') : failed(step, outcome);
    case 'capturePayment':
      return outcome.ok ? { kind: 'finish', state: 'COMPLETED' } : failed(step, outcome);
    case 'voidPayment':
      return outcome.ok ? next('releaseStock', 'COMPENSATING', failureReason ?? undefined) : failed(step, outcome);
    case 'releaseStock':
      return outcome.ok ? next('rejectOrder', 'COMPENSATING', failureReason ?? undefined) : failed(step, outcome);
    case 'rejectOrder':
      return { kind: 'finish', state: 'COMPENSATED', ...(failureReason ? { failureReason } : {}) };
    default:
      return failed(step, { ok: false, reason: `no step ${step} in a placeOrder saga` });
  }
}
