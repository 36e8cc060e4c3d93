import type { StepName } from './decide.ts';

/** What the orchestrator knows of the order when it sends a command. */
export interface SagaOrder {
  id: string;
  userId: string;
  totalCents: number;
  currency: string;
  lines: Array<{ productId: string; quantity: number }>;
  /** For a cancellation: the saga that placed the order (its reservation is returned). */
  placeSagaId?: string;
}

interface RemoteStep {
  participant: 'inventory' | 'payments';
  command: string;
  /** Forward steps before the point of no return have a deadline; compensations retry until done. */
  hasDeadline: boolean;
  payload: (order: SagaOrder) => unknown;
}

/** Steps another service performs; every other step is the orchestrator's own (local). */
export const remoteSteps: Partial<Record<StepName, RemoteStep>> = {
  reserveStock: { participant: 'inventory', command: 'reserve', hasDeadline: true, payload: (o) => ({ lines: o.lines }) },
  authorizePayment: {
    participant: 'payments',
    command: 'authorize',
    hasDeadline: true,
    payload: (o) => ({ orderId: o.id, customerId: o.userId, amountCents: o.totalCents, currency: o.currency }),
  },
  commitStock: { participant: 'inventory', command: 'commit', hasDeadline: false, payload: () => ({}) },
  capturePayment: { participant: 'payments', command: 'capture', hasDeadline: false, payload: (o) => ({ orderId: o.id }) },
  voidPayment: { participant: 'payments', command: 'void', hasDeadline: false, payload: (o) => ({ orderId: o.id }) },
  releaseStock: { participant: 'inventory', command: 'release', hasDeadline: false, payload: () => ({}) },
  refundPayment: { participant: 'payments', command: 'refund', hasDeadline: false, payload: (o) => ({ orderId: o.id }) },
  returnStock: { participant: 'inventory', command: 'return', hasDeadline: false, payload: (o) => ({ orderSagaId: o.placeSagaId }) },
};
