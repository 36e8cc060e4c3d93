-- CreateTable
CREATE TABLE "ProductReplica" (
    "id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProductReplica_pkey" PRIMARY KEY ("id")
);
