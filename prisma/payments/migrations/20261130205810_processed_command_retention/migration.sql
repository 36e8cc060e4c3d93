-- CreateIndex
CREATE INDEX "ProcessedCommand_createdAt_idx" ON "ProcessedCommand"("createdAt");
