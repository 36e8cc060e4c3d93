-- AlterTable
ALTER TABLE "Saga" ADD COLUMN     "context" JSONB,
ADD COLUMN     "deadlineAt" TIMESTAMPTZ(3),
ADD COLUMN     "stepCount" INTEGER NOT NULL DEFAULT 0;

-- Hand-written: sagas already in the table get what the new columns hold, so that a saga in
-- flight during the upgrade carries on. Its context is read from its order, a step waiting on a
-- deadline gets one from when it last moved (the default 10 s), its step count from its steps.
UPDATE "Saga" s SET
  "stepCount" = (SELECT count(*) FROM "SagaStep" st WHERE st."sagaId" = s."id"),
  "context" = jsonb_build_object(
      'id', o."id", 'userId', o."userId", 'totalCents', o."totalCents", 'currency', o."currency",
      'lines', (SELECT coalesce(jsonb_agg(jsonb_build_object('productId', l."productId", 'quantity', l."quantity") ORDER BY l."position"), '[]'::jsonb)
                FROM "OrderLine" l WHERE l."orderId" = o."id"))
    || CASE WHEN s."type" = 'cancelOrder'
            THEN jsonb_build_object('placeSagaId', (SELECT p."id" FROM "Saga" p WHERE p."orderId" = o."id" AND p."type" = 'placeOrder' LIMIT 1))
            ELSE '{}'::jsonb END,
  "deadlineAt" = CASE WHEN s."state" IN ('RUNNING', 'COMPENSATING') AND s."currentStep" IN ('reserveStock', 'authorizePayment')
                      THEN (s."updatedAt" AT TIME ZONE 'UTC') + interval '10 seconds' END
FROM "Order" o WHERE o."id" = s."orderId";

ALTER TABLE "Saga" ALTER COLUMN "context" SET NOT NULL;

-- CreateIndex
CREATE INDEX "Saga_deadlineAt_idx" ON "Saga"("deadlineAt");
