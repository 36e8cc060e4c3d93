export { startGateway, type GatewayOptions } from './gateway.ts';
export { composeSupergraph } from './compose.ts';
export { subgraphs } from './subgraphs.ts';
export { defaultOperationLimits, defaultRequestLimits, type OperationLimits } from './limits.ts';
export { deleteRateLimitKeys, type RateLimitOptions } from './rateLimit.ts';
export type { QueueDashboardOptions } from './queueDashboard.ts';
export { documentHash, loadTrustedDocuments, type TrustedDocuments } from './trustedDocuments.ts';
