-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "StockItem" (
    "productId" UUID NOT NULL,
    "available" INTEGER NOT NULL DEFAULT 0,
    "reserved" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StockItem_pkey" PRIMARY KEY ("productId")
);

-- Hand-written, appended after generation: Prisma schemas cannot express CHECK constraints.
-- The domain module validates too, but these make negative stock impossible whatever writes the row
-- (including the reservation sagas to come).
ALTER TABLE "StockItem" ADD CONSTRAINT "StockItem_available_nonnegative" CHECK ("available" >= 0);
ALTER TABLE "StockItem" ADD CONSTRAINT "StockItem_reserved_nonnegative" CHECK ("reserved" >= 0);
