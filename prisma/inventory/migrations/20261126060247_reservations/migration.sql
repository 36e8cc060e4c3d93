-- CreateEnum
CREATE TYPE "ReservationStatus" AS ENUM ('RESERVED', 'COMMITTED', 'RELEASED', 'RETURNED');

-- CreateTable
CREATE TABLE "Reservation" (
    "sagaId" TEXT NOT NULL,
    "productId" UUID NOT NULL,
    "quantity" INTEGER NOT NULL,
    "status" "ReservationStatus" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "committedAt" TIMESTAMP(3),
    "releasedAt" TIMESTAMP(3),
    "returnedAt" TIMESTAMP(3),
    "returnedBySagaId" TEXT,

    CONSTRAINT "Reservation_pkey" PRIMARY KEY ("sagaId","productId")
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
CREATE INDEX "Reservation_productId_status_idx" ON "Reservation"("productId", "status");

-- Hand-written, appended after generation: Prisma schemas cannot express CHECK constraints.
-- The domain module validates commands first, but a reservation of zero or negative units would
-- turn a release into a sale (or worse) whatever writes the row.
ALTER TABLE "Reservation" ADD CONSTRAINT "Reservation_quantity_positive" CHECK ("quantity" > 0);
