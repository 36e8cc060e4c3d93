export { brokerEnvironment, commonEnvironment, parseEnvironment, sagaEnvironment, serviceEnvironment } from './environment.ts';
export { requireAdmin, requireViewer } from './authz.ts';
export { assertId, badInput, conflict, ErrorCode, forbidden, graphQLError, isId, notFound, unauthenticated } from './errors.ts';
export { maskUnexpectedErrors } from './errorMasking.ts';
export { boundedLabel } from './graphqlObservability.ts';
export { createHttpHandler, HttpError, listen, sendJson, type ListeningServer, type ListenOptions, type RouteHandler } from './httpServer.ts';
export {
  INTERNAL_CONTEXT_HEADER,
  INTERNAL_IDENTITY,
  internalTokenSigner,
  signInternalContext,
  verifyInternalContext,
  type InternalContext,
  type Viewer,
} from './internalContext.ts';
export { createLogger, type Logger } from './logger.ts';
export { loadSchemaFile } from './schemaFile.ts';
export { listenRoutes, startManagementServer } from './management.ts';
export { createPrismaDb, directSql, type PrismaClientClass, type PrismaDbOptions, type RawQuery } from './prismaDb.ts';
export { Readiness, type ReadinessCheck, type ReadinessReport } from './readiness.ts';
export { closeOnSignals, runShutdown, shutdownOnSignals, type ShutdownPlan, type ShutdownStep } from './shutdown.ts';
export { startSubgraph, type RunningService, type SagaRuntime, type SubgraphDefinition, type SubgraphRuntime } from './subgraph.ts';
export { parseInput } from './validation.ts';
export { defineService, type RunningWorkers, type ServiceModule, type ServiceSettings } from './serviceModule.ts';
export { runService, serviceProcessEnvironment } from './runService.ts';
export { assertProductionSecret, developmentInternalTokenSecret } from './productionSafety.ts';
export { isSessionRevoked, notBeforeKey, revokeSessions, SESSION_START_CLAIM, sessionStart } from './sessionRevocation.ts';
export { idempotencyKey, onceForKey, type KeyedRequest } from './idempotency.ts';
export { deleteRedisKeys } from './redisKeys.ts';
