import { describe, expect, it } from 'vitest';
import { decide, type Decision, type Outcome, type StepName } from './decide.ts';

const ok: Outcome = { ok: true };

/** Walks the saga from its first step, feeding outcomes; returns the steps taken and the end. */
function walk(type: 'placeOrder' | 'cancelOrder', outcomes: Partial<Record<StepName, Outcome>>) {
  let step: StepName = type === 'placeOrder' ? 'reserveStock' : 'refundPayment';
  let reason: string | undefined;
  const steps: StepName[] = [];
  for (let i = 0; i < 20; i++) {
    steps.push(step);
    const d: Decision = decide(type, step, outcomes[step] ?? ok, reason);
    reason = d.failureReason ?? reason;
    if (d.kind === 'finish') return { steps, state: d.state, reason };
    step = d.step;
  }
  throw new Error('saga did not finish');
}

describe('order saga decisions', () => {
  it('places an order: reserve, authorize, confirm, commit, capture', () => {
    expect(walk('placeOrder', {})).toEqual({
      steps: ['reserveStock', 'authorizePayment', 'confirmOrder', 'commitStock', 'capturePayment'],
      state: 'COMPLETED',
      reason: undefined,
    });
  });

  it('rejects for insufficient stock without compensating anything', () => {
    expect(walk('placeOrder', { reserveStock: { ok: false, reason: 'INSUFFICIENT_STOCK' } })).toEqual({
      steps: ['reserveStock', 'rejectOrder'],
      state: 'COMPENSATED',
      reason: 'INSUFFICIENT_STOCK',
    });
  });

  it('releases the stock when payment is declined', () => {
    expect(walk('placeOrder', { authorizePayment: { ok: false, reason: 'PAYMENT_DECLINED' } })).toEqual({
      steps: ['reserveStock', 'authorizePayment', 'releaseStock', 'rejectOrder'],
      state: 'COMPENSATED',
      reason: 'PAYMENT_DECLINED',
    });
  });

  it('after a deadline, undoes what the late participant might still do', () => {
    expect(walk('placeOrder', { reserveStock: { ok: false, reason: 'TIMED_OUT', timedOut: true } })).toEqual({
      steps: ['reserveStock', 'releaseStock', 'rejectOrder'],
      state: 'COMPENSATED',
      reason: 'TIMED_OUT',
    });
    expect(walk('placeOrder', { authorizePayment: { ok: false, reason: 'TIMED_OUT', timedOut: true } })).toEqual({
      steps: ['reserveStock', 'authorizePayment', 'voidPayment', 'releaseStock', 'rejectOrder'],
      state: 'COMPENSATED',
      reason: 'TIMED_OUT',
    });
  });

  it('stops for a person when a step after confirmation fails', () => {
    expect(walk('placeOrder', { capturePayment: { ok: false, reason: 'INVALID_TRANSITION' } })).toMatchObject({
      state: 'FAILED',
      reason: 'capturePayment failed: INVALID_TRANSITION',
    });
  });

  it('cancels a confirmed order: refund, return the stock, mark it cancelled', () => {
    expect(walk('cancelOrder', {})).toEqual({ steps: ['refundPayment', 'returnStock', 'cancelOrder'], state: 'COMPLETED', reason: undefined });
    expect(walk('cancelOrder', { refundPayment: { ok: false, reason: 'INVALID_TRANSITION' } }).state).toBe('FAILED');
  });
});
