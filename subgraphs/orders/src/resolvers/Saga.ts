import type { SagaStep as SagaStepRow } from '../generated/prisma/client.ts';

export const SagaStep = {
  startedAt: (step: SagaStepRow) => step.startedAt.toISOString(),
  finishedAt: (step: SagaStepRow) => step.finishedAt?.toISOString() ?? null,
};
