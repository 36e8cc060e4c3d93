import type { Payment as PaymentRow } from '../domain/payments.ts';

const iso = (date: Date | null) => date?.toISOString() ?? null;

export const Payment = {
  authorizedAt: (payment: PaymentRow) => iso(payment.authorizedAt),
  capturedAt: (payment: PaymentRow) => iso(payment.capturedAt),
  voidedAt: (payment: PaymentRow) => iso(payment.voidedAt),
  refundedAt: (payment: PaymentRow) => iso(payment.refundedAt),
};
