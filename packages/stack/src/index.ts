export { services } from './services.ts';
export { startInProcessStack, type InProcessStack } from './inProcessStack.ts';
export { rebuildReadModel, type RebuildOptions } from './rebuild.ts';
export { verifyReadModel, verifyUntilEqual, type ReadModelReport, type VerifyOptions } from './verify.ts';
