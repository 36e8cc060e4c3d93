export { backingServices, missingBackingServices, type Backing } from './backingServices.ts';
export { gatewayProcessEnv, serviceProcessEnv, subgraphUrlsOf } from './environments.ts';
export { bootstrapReadModels, databaseUrlOf, declareBroker, dropStack, prepareDatabases, unreachableBackingServices } from './prepare.ts';
export { entryOf, spawnDeployable, untilReady, type DeployableProcess, type Exit, type SpawnOptions } from './processes.ts';
export { localSecrets, localSecretsFile, parseEnvFile, repositoryRoot } from './secrets.ts';
export { readModelSources, verifyReadModels, withServiceDbs } from './readModels.ts';
export { loadService, loadServices } from './services.ts';
export { startSystem, type RunningSystem, type SystemOptions } from './system.ts';
