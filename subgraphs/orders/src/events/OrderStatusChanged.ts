import { newEvent } from '@mercado/event-bus';

/** The order as it stands after a change of its status or of its saga's state. */
export interface OrderStatusSnapshot {
  id: string;
  userId: string;
  status: 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';
  rejectionReason: string | null;
  /** Bumped by every change announced: consumers keep the highest version they have seen. */
  version: number;
}

/** The order's saga at that moment: its state and the step it waits on (null once finished). */
export interface SagaSnapshot {
  state: string;
  currentStep: string | null;
}

/**
 * An order's status or its saga's state changed: placed (PENDING), CONFIRMED, the placing saga
 * COMPLETED, REJECTED with a reason, a cancellation started, CANCELLED. Written to the outbox in
 * the transaction that made the change; `version` is the order's, monotonic per order, so a
 * consumer never moves backwards on reordered deliveries.
 */
export const OrderStatusChanged = (o: OrderStatusSnapshot, saga: SagaSnapshot | null) =>
  newEvent('orders', 'OrderStatusChanged', o.id, o.version, {
    orderId: o.id,
    customerId: o.userId,
    status: o.status,
    rejectionReason: o.rejectionReason,
    sagaState: saga?.state ?? null,
    sagaStep: saga?.currentStep ?? null,
    version: o.version,
  });
