-- The relay now deletes an event once the broker confirmed it: rows it had marked published
-- would otherwise be published again. Event ids need no index here (consumers deduplicate).
DELETE FROM "OutboxEvent" WHERE "publishedAt" IS NOT NULL;

-- DropIndex
DROP INDEX "OutboxEvent_id_key";

-- DropIndex
DROP INDEX "OutboxEvent_publishedAt_position_idx";

-- AlterTable
ALTER TABLE "OutboxEvent" DROP COLUMN "publishedAt";
