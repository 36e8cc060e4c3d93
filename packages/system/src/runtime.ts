/**
 * How each deployable's process runs, wherever it runs: the node flags it starts with and the
 * memory and CPU one replica is given. Declared once here and followed by the image's entry point
 * (`deploy/image/mercado`), docker-compose.yml, the Kubernetes manifests under `deploy/` (all
 * three generated or checked by `npm run deploy:generate` and the `deploy` tests) and `npm start`.
 *
 * The figures come from `npm run memory` (docs/deployment.md#memory): resident memory of each
 * process from its compiled bundle, at rest after readiness and a few requests.
 */
import { gateway, services } from './manifest.ts';

export interface Runtime {
  /** V8/Node flags on the command line, before the entry point. */
  readonly nodeFlags: readonly string[];
  /** Kubernetes requests and limits of one replica. */
  readonly resources: {
    readonly memoryRequestMiB: number;
    readonly memoryLimitMiB: number;
    readonly cpuRequestMillis: number;
  };
}

/**
 * A subgraph that mostly waits on PostgreSQL, the broker and Redis (accounts, catalog, reviews)
 * trades V8's JavaScript compilers past the interpreter for memory (`--no-sparkplug --no-maglev
 * --no-opt`: no baseline, mid-tier or optimized machine code to keep), compiles WebAssembly with
 * the baseline compiler only (Prisma's query compiler is a wasm module that the optimizing one
 * would compile again in the background), keeps a 1 MB young generation (each request allocates
 * little) and `--optimize-for-size` heuristics, and caps the old generation below the pod's
 * memory limit so that V8 collects before the kernel kills. `--jitless` and `--lite-mode` would
 * save more but turn WebAssembly off, which Prisma needs. Measured: docs/deployment.md#memory.
 */
const leanFlags = ['--no-opt', '--no-maglev', '--no-sparkplug', '--liftoff-only', '--max-semi-space-size=1', '--optimize-for-size', '--max-old-space-size=160'] as const;

/**
 * A subgraph in the sagas (the orchestrator and its participants: orders, inventory, payments)
 * does work for every order, and under orders it is CPU-bound: it keeps V8's JavaScript compilers
 * and an 8 MB young generation. The lean flags cost these three twice the CPU per order (the
 * interpreter, and a 1 MB young generation that `--optimize-for-size` also imposes: objects that
 * live for one command are promoted and collected again as old); these cost about 30 MiB more
 * at rest (about 120 MiB against 90). Only Prisma's wasm stays on the baseline compiler (8% of the
 * CPU, about 10 MiB). Measured: docs/performance.md (run 7) and docs/deployment.md#memory.
 */
const throughputFlags = ['--liftoff-only', '--max-semi-space-size=8', '--max-old-space-size=160'] as const;

const lean: Runtime = {
  nodeFlags: leanFlags,
  resources: { memoryRequestMiB: 128, memoryLimitMiB: 256, cpuRequestMillis: 200 },
};

const throughput: Runtime = {
  nodeFlags: throughputFlags,
  resources: { memoryRequestMiB: 160, memoryLimitMiB: 256, cpuRequestMillis: 200 },
};

/** The gateway plans and shapes results: it keeps the optimizing compiler and a bigger heap. */
const gatewayRuntime: Runtime = {
  nodeFlags: ['--max-old-space-size=384'],
  resources: { memoryRequestMiB: 256, memoryLimitMiB: 512, cpuRequestMillis: 500 },
};

/** The two runtimes a subgraph can have, by name (the memory bench measures both on every subgraph). */
export const subgraphRuntimes = { lean, throughput } as const;

const runtimes: Record<string, Runtime> = {
  [gateway.name]: gatewayRuntime,
  ...Object.fromEntries(services.map((s) => [s.name, 'saga' in s ? throughput : lean])),
};

/** The runtime of a deployable (`gateway` or a service of the manifest). */
export function runtimeOf(name: string): Runtime {
  const runtime = runtimes[name];
  if (!runtime) throw new Error(`no deployable named "${name}" in the system manifest`);
  return runtime;
}

/** Where a deployable's compiled entry point is, relative to the repository root (and to the image's /app). */
export const entryPointOf = (name: string) => (name === gateway.name ? 'gateway/dist/main.js' : `subgraphs/${name}/dist/main.js`);
