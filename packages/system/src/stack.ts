import * as z from 'zod';
import { gateway, serviceDeclaration, services } from './manifest.ts';

/**
 * One running copy of the system on some servers: what it is called (its databases, broker
 * exchange and queues, Redis keys are named after it) and where its ports are. Two copies can
 * run side by side on one machine and one set of servers when they differ in name and ports:
 *
 *   STACK_NAME=mercado2 PORT_OFFSET=100 npm start
 */
export interface Stack {
  /** Databases `<name>_<service>`, broker prefix `<name>`, Redis key prefix `<name>`. */
  name: string;
  /** Added to every port of the manifest. */
  portOffset: number;
  /** Interface the services listen on. */
  host: string;
  postgresUrl: string;
  redisUrl: string;
  amqpUrl: string;
}

/** Ports of replica n of one deployable are its manifest ports plus n times this. */
export const REPLICA_PORT_STRIDE = 10;

/** The variables that name and place a copy of the system (read by npm start, setup and the tools). */
export const stackEnvironment = {
  STACK_NAME: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,20}$/, 'lower-case letters and digits, starting with a letter (it names databases, queues and keys)')
    .default('mercado'),
  PORT_OFFSET: z.coerce.number().int().min(-4000).max(50_000).default(0),
  HOST: z.string().default('127.0.0.1'),
  POSTGRES_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/postgres'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  AMQP_URL: z.string().url().default('amqp://guest:guest@127.0.0.1:5672'),
};

export function stackFrom(env: z.infer<z.ZodObject<typeof stackEnvironment>>): Stack {
  return {
    name: env.STACK_NAME,
    portOffset: env.PORT_OFFSET,
    host: env.HOST,
    postgresUrl: env.POSTGRES_URL,
    redisUrl: env.REDIS_URL,
    amqpUrl: env.AMQP_URL,
  };
}

/** Reads the stack's variables; a bad one throws naming it. */
export function stackFromEnvironment(source: NodeJS.ProcessEnv = process.env): Stack {
  const result = z.object(stackEnvironment).safeParse(source);
  if (!result.success) {
    throw new Error(`invalid environment:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return stackFrom(result.data);
}

export const databaseName = (stack: Pick<Stack, 'name'>, service: string) => `${stack.name}_${service}`;

export interface Ports {
  port: number;
  metricsPort: number;
}

/** Where replica `replica` (0, 1, ...) of a service, or of the gateway, listens in this stack. */
export function portsOf(stack: Pick<Stack, 'portOffset'>, name: string, replica = 0): Ports {
  const declared = name === gateway.name ? gateway : serviceDeclaration(name);
  const shift = stack.portOffset + replica * REPLICA_PORT_STRIDE;
  return { port: declared.port + shift, metricsPort: declared.metricsPort + shift };
}

/** Every port a stack of `replicas` copies of everything listens on (to check that they are free). */
export function allPorts(stack: Pick<Stack, 'portOffset'>, replicas = 1): number[] {
  const names = [gateway.name, ...services.map((s) => s.name)];
  return names.flatMap((name) => Array.from({ length: replicas }, (_, r) => Object.values(portsOf(stack, name, r)))).flat();
}

/** A URL a browser or a peer on this machine can use for `host` (0.0.0.0 listens everywhere; connect to localhost). */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export const urlOf = (stack: Pick<Stack, 'host'>, port: number, path = '') => `http://${reachableHost(stack.host)}:${port}${path}`;
