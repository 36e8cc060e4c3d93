-- CreateIndex
CREATE INDEX "InboxEvent_receivedAt_idx" ON "InboxEvent"("receivedAt");
