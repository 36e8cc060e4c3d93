import { inventoryParticipant, paymentsParticipant, type CommandOf, type ParticipantContract, type PayloadOf } from '@mercado/saga';
import type { OrderTransition } from '../domain/order.ts';
import type { StepName } from './decide.ts';

/** What the orchestrator knows of the order when it sends a command (stored in the saga's row). */
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
  participant: string;
  command: string;
  /** Forward steps before the point of no return have a deadline; compensations retry until done. */
  hasDeadline: boolean;
  payload: (order: SagaOrder) => unknown;
}

/** A step another service performs: one command of its contract, with a payload of that command's type. */
function remote<C extends ParticipantContract, K extends CommandOf<C>>(
  contract: C,
  command: K,
  hasDeadline: boolean,
  payload: (order: SagaOrder) => PayloadOf<C, K>,
): RemoteStep {
  return { participant: contract.participant, command, hasDeadline, payload };
}

const inventory = inventoryParticipant;
const payments = paymentsParticipant;

/** Steps another service performs; every other step is the orchestrator's own (local). */
export const remoteSteps: Partial<Record<StepName, RemoteStep>> = {
  reserveStock: remote(inventory, 'reserve', true, (o) => ({ lines: o.lines })),
  authorizePayment: remote(payments, 'authorize', true, (o) => ({ orderId: o.id, customerId: o.userId, amountCents: o.totalCents, currency: o.currency })),
  commitStock: remote(inventory, 'commit', false, () => ({})),
  capturePayment: remote(payments, 'capture', false, (o) => ({ orderId: o.id })),
  voidPayment: remote(payments, 'void', false, (o) => ({ orderId: o.id })),
  releaseStock: remote(inventory, 'release', false, () => ({})),
  refundPayment: remote(payments, 'refund', false, (o) => ({ orderId: o.id })),
  returnStock: remote(inventory, 'return', false, (o) => ({ orderSagaId: o.placeSagaId ?? '' })),
};

/** The orchestrator's own steps: each is a transition of the order aggregate (domain/order.ts). */
export const localSteps: Partial<Record<StepName, OrderTransition>> = {
  confirmOrder: 'confirm',
  rejectOrder: 'reject',
  cancelOrder: 'cancel',
};
