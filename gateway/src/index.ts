export { startGateway, type GatewayOptions } from './gateway.ts';
export { composeSupergraph } from './compose.ts';
export { subgraphs } from './subgraphs.ts';
