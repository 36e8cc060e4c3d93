/**
 * The order sagas' participants: the commands orders sends to inventory and payments, with their
 * payloads. This is the wire protocol between the services (like a subgraph's schema), which is
 * why it lives here, once, and not in either service: orders' steps build these payloads and each
 * participant's handlers take them, type-checked on both sides. The participant still validates
 * what it receives (a bug or an old message on the queue must not reach its database), with these
 * schemas, whose messages name the field at fault.
 */
import * as z from 'zod';
import { defineParticipant } from './contract.ts';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const id = (field: string) =>
  z
    .string()
    .regex(ID, `${field} is not a valid id`)
    .transform((s) => s.toLowerCase());
export const sagaIdSchema = (field: string) => z.string().min(1, `${field} is required`).max(200, `${field} is at most 200 characters`);

// The orders service validates what customers ask for; these bounds only keep a buggy or
// hostile command from reaching a database.
const MAX_QUANTITY = 100_000;
const MAX_LINES = 100;

export const inventoryParticipant = defineParticipant('inventory', {
  /** Moves the lines' units from available to reserved, all or none. */
  reserve: z.object({
    lines: z
      .array(
        z.object({
          productId: id('productId'),
          quantity: z
            .number()
            .int('quantity must be a whole number')
            .min(1, 'quantity must be at least 1')
            .max(MAX_QUANTITY, `quantity must be at most ${MAX_QUANTITY}`),
        }),
      )
      .min(1, 'lines cannot be empty')
      .max(MAX_LINES, `lines has at most ${MAX_LINES} entries`),
  }),
  /** The saga's reserved units are sold. */
  commit: z.object({}),
  /** The saga's reserved units are available again (a compensation). */
  release: z.object({}),
  /** The sold units of the order saga `orderSagaId` are available again (a cancellation). */
  return: z.object({ orderSagaId: sagaIdSchema('orderSagaId') }),
});

export const paymentsParticipant = defineParticipant('payments', {
  /** Holds the amount of the customer's credit for the order, or declines. */
  authorize: z.object({
    orderId: id('orderId'),
    customerId: id('customerId'),
    amountCents: z.number().int('amountCents must be a whole number').min(0, 'amountCents cannot be negative').max(2 ** 31 - 1, 'amountCents is too large'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'currency is an ISO 4217 code such as EUR'),
  }),
  /** The held amount is spent. */
  capture: z.object({ orderId: id('orderId') }),
  /** The hold is released (a compensation). */
  void: z.object({ orderId: id('orderId') }),
  /** The spent amount is credited back (a cancellation). */
  refund: z.object({ orderId: id('orderId') }),
});
