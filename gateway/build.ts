/**
 * `npm run build` (in gateway/): compiles the gateway to plain JavaScript in gateway/dist/, which
 * is what `npm start`, the Dockerfile and the bench run. Under tsx the gateway would carry tsx's
 * loader, its per-file transform and source-map caches and an esbuild service for as long as it
 * runs (about 60 MB of resident memory measured here, before the first request).
 *
 * The workspace packages it uses (@mercado/service-kit, @mercado/saga, ...) ship TypeScript
 * sources, so they are bundled in; everything from node_modules stays an ordinary import,
 * resolved from gateway/dist exactly as from gateway/src. Workspace modules are treated as free
 * of side effects, so what the gateway does not use of them (service-kit's subgraph bootstrap
 * and event workers, with amqplib, pg, prom-client, @apollo/subgraph) is never loaded.
 *
 * `bundleForNode` is also how the bench compiles the plain @apollo/gateway baseline, so both
 * gateways run the same way.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const packagesDir = fileURLToPath(new URL('../packages/', import.meta.url));
const resolving = Symbol('resolving');

/** Bare imports stay external, except workspace packages (TypeScript sources), which are bundled. */
const workspaceSourcesOnly: Plugin = {
  name: 'workspace-sources-only',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@mercado/')) return undefined;
      return { path: args.path, external: true };
    });
    // A workspace package, and every module inside one: resolved normally, then marked, so that
    // an unused module is dropped with its imports.
    b.onResolve({ filter: /.*/ }, async (args) => {
      const inWorkspacePackage = args.path.startsWith('@mercado/') || (args.path.startsWith('.') && args.resolveDir.startsWith(packagesDir));
      if (!inWorkspacePackage || args.pluginData === resolving) return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: resolving });
      return resolved.errors.length ? { errors: resolved.errors } : { path: resolved.path, sideEffects: false };
    });
  },
};

/** Compiles `entryPoints` and what they import from the workspace into ES modules in `outdir`. */
export async function bundleForNode(entryPoints: string[], outdir: string): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir,
    bundle: true,
    // Lazily imported modules (the gateway itself in a cluster's primary, the queue dashboard)
    // become chunks of their own, loaded only when imported.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    // Names stay as written: stack traces and logs read like the sources.
    keepNames: true,
    logLevel: 'warning',
    plugins: [workspaceSourcesOnly],
  });
}

export const gatewayDist = fileURLToPath(new URL('./dist/', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundleForNode([fileURLToPath(new URL('./src/main.ts', import.meta.url))], gatewayDist);
}
