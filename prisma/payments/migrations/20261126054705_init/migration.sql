-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "PaymentStatus" AS ENUM ('AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED', 'DECLINED');

-- CreateTable
CREATE TABLE "PaymentAccount" (
    "customerId" UUID NOT NULL,
    "creditLimitCents" INTEGER NOT NULL,
    "heldCents" INTEGER NOT NULL DEFAULT 0,
    "spentCents" INTEGER NOT NULL DEFAULT 0,
    "currency" CHAR(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PaymentAccount_pkey" PRIMARY KEY ("customerId")
);

-- CreateTable
CREATE TABLE "Payment" (
    "id" UUID NOT NULL,
    "orderId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "amountCents" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" "PaymentStatus" NOT NULL,
    "declineReason" TEXT,
    "authorizedAt" TIMESTAMP(3),
    "capturedAt" TIMESTAMP(3),
    "voidedAt" TIMESTAMP(3),
    "refundedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Payment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProcessedCommand" (
    "sagaId" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "result" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProcessedCommand_pkey" PRIMARY KEY ("sagaId","step")
);

-- CreateIndex
CREATE UNIQUE INDEX "Payment_orderId_key" ON "Payment"("orderId");

-- Hand-written, appended after generation: Prisma schemas cannot express CHECK constraints.
-- The domain module checks before writing, but these make an overdrawn or negative balance
-- impossible whatever writes the row, including a buggy saga step. The sum is taken as bigint
-- so that it cannot overflow before it is compared.
ALTER TABLE "PaymentAccount" ADD CONSTRAINT "PaymentAccount_creditLimitCents_nonnegative" CHECK ("creditLimitCents" >= 0);
ALTER TABLE "PaymentAccount" ADD CONSTRAINT "PaymentAccount_heldCents_nonnegative" CHECK ("heldCents" >= 0);
ALTER TABLE "PaymentAccount" ADD CONSTRAINT "PaymentAccount_spentCents_nonnegative" CHECK ("spentCents" >= 0);
ALTER TABLE "PaymentAccount" ADD CONSTRAINT "PaymentAccount_within_limit" CHECK ("heldCents"::bigint + "spentCents" <= "creditLimitCents");
ALTER TABLE "Payment" ADD CONSTRAINT "Payment_amountCents_nonnegative" CHECK ("amountCents" >= 0);
