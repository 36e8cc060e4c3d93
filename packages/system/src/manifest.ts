/**
 * Mercado, declared once: every deployable, the ports it listens on in a local setup, the
 * database it owns, the integration events it publishes and consumes, and its part in the sagas.
 *
 * Everything that needs the system's shape reads it here: `npm start`, setup and the event
 * tools, the gateway's subgraph list (composition, URL overrides, readiness), the saga queue
 * dashboard, the benchmarks, the test stacks, and the checks that docker-compose.yml and the
 * Kubernetes manifests describe the same system. Data only: importing it loads no service code,
 * so tools learn the system's shape without starting any part of it.
 */

/** A subgraph: one deployable, one business capability, one database of its own. */
export interface ServiceDeclaration {
  /** Also its package (`@mercado/<name>`), its folder (`subgraphs/<name>`) and its database (`<stack>_<name>`). */
  readonly name: string;
  /** What it owns, in a few words. */
  readonly owns: string;
  /** GraphQL, /health and /ready, in a local setup (a container or pod may use any port). */
  readonly port: number;
  /** Prometheus /metrics, /health and /ready: the management port, kept off the public one. */
  readonly metricsPort: number;
  /** Integration event types it publishes through its outbox (routing key `<name>.<Type>`). */
  readonly produces: readonly string[];
  /** Routing keys (`<source>.<Type>`) of the integration events it applies to its read models. */
  readonly consumes: readonly string[];
  /** Its part in the sagas: a participant works off a command queue, an orchestrator off a reply queue. */
  readonly saga?: 'participant' | 'orchestrator';
}

export interface GatewayDeclaration {
  readonly name: 'gateway';
  readonly port: number;
  readonly metricsPort: number;
}

const productEvents = ['catalog.ProductCreated', 'catalog.ProductPriceChanged', 'catalog.ProductSnapshotPublished'] as const;

/** In start-up order: accounts first (the gateway verifies tokens with its keys). */
export const services = [
  {
    name: 'accounts',
    owns: 'users, password hashes, signing keys',
    port: 4001,
    metricsPort: 9401,
    produces: ['UserRegistered', 'UserSnapshotPublished'],
    consumes: [],
  },
  {
    name: 'catalog',
    owns: 'products and prices; a replica of stock levels',
    port: 4002,
    metricsPort: 9402,
    produces: ['ProductCreated', 'ProductPriceChanged', 'ProductSnapshotPublished'],
    consumes: ['inventory.StockChanged', 'inventory.StockSnapshotPublished'],
  },
  {
    name: 'inventory',
    owns: 'stock and reservations; which products exist',
    port: 4003,
    metricsPort: 9403,
    produces: ['StockChanged', 'StockSnapshotPublished'],
    consumes: [...productEvents],
    saga: 'participant',
  },
  {
    name: 'orders',
    owns: 'orders and their sagas; replicas of products and customers',
    port: 4004,
    metricsPort: 9404,
    produces: ['OrderConfirmed', 'OrderStatusChanged'],
    consumes: [...productEvents, 'accounts.UserRegistered', 'accounts.UserSnapshotPublished'],
    saga: 'orchestrator',
  },
  {
    name: 'reviews',
    owns: 'reviews; who bought what; which products exist',
    port: 4005,
    metricsPort: 9405,
    produces: [],
    consumes: ['orders.OrderConfirmed', ...productEvents],
  },
  {
    name: 'payments',
    owns: 'credit accounts and payments',
    port: 4006,
    metricsPort: 9406,
    produces: [],
    consumes: [],
    saga: 'participant',
  },
] as const satisfies readonly ServiceDeclaration[];

export type ServiceName = (typeof services)[number]['name'];

export const gateway: GatewayDeclaration = { name: 'gateway', port: 4000, metricsPort: 9400 };

export const serviceNames: readonly ServiceName[] = services.map((s) => s.name);

/** The services, each seen as a declaration (optional fields included). */
const declared: readonly ServiceDeclaration[] = services;

export function serviceDeclaration(name: string): ServiceDeclaration {
  const service = declared.find((s) => s.name === name);
  if (!service) throw new Error(`no service named "${name}" in the system manifest (${serviceNames.join(', ')})`);
  return service;
}

export function isServiceName(name: string): name is ServiceName {
  return services.some((s) => s.name === name);
}

/** Services that apply integration events: each has a queue and a parking lot on the broker. */
export const consumers = declared.filter((s) => s.consumes.length > 0);

/** Services that publish integration events: each runs an outbox relay. */
export const producers = declared.filter((s) => s.produces.length > 0);

/** Services that keep a read model of others' events, with the services they read from. */
export function sourcesOf(service: ServiceDeclaration): string[] {
  return [...new Set(service.consumes.map((key) => key.slice(0, key.indexOf('.'))))];
}

/** The saga roles: which services work off a command queue, which off a reply queue. */
export const sagaParticipants = declared.filter((s) => s.saga === 'participant').map((s) => s.name);
export const sagaOrchestrators = declared.filter((s) => s.saga === 'orchestrator').map((s) => s.name);
