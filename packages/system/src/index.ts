export {
  consumers,
  gateway,
  isServiceName,
  producers,
  sagaOrchestrators,
  sagaParticipants,
  serviceDeclaration,
  serviceNames,
  services,
  sourcesOf,
  type GatewayDeclaration,
  type ServiceDeclaration,
  type ServiceName,
} from './manifest.ts';
export {
  allPorts,
  databaseName,
  portsOf,
  reachableHost,
  REPLICA_PORT_STRIDE,
  stackEnvironment,
  stackFrom,
  stackFromEnvironment,
  urlOf,
  type Ports,
  type Stack,
} from './stack.ts';
export { entryPointOf, runtimeOf, subgraphRuntimes, type Runtime } from './runtime.ts';
