/**
 * Compiles a deployable (the gateway, each subgraph) to plain JavaScript in its `dist/`, which is
 * what `npm start`, the Dockerfile, the test stacks and the bench run. Under tsx a process would
 * carry tsx's loader, its per-file transform and source-map caches and an esbuild service for as
 * long as it runs (about 60 MB of resident memory measured on the gateway, before any request).
 *
 * The workspace packages (@mercado/service-kit, @mercado/event-bus, ...) ship TypeScript
 * sources, so they are bundled in; everything from node_modules stays an ordinary import,
 * resolved from `<deployable>/dist` exactly as from `<deployable>/src` (except what the plugins
 * below change so that a subgraph does not hold, at rest, code it never runs: zod bundled,
 * bullmq's narrower entry, `node:http` without its ES facade, Prisma's query compiler read from a
 * file; docs/deployment.md#memory has what each is worth). Workspace modules are
 * treated as free of side effects, so what a deployable does not use of them (the gateway: the
 * subgraph bootstrap and event workers; a subgraph: the gateway-only helpers) is never loaded.
 * Files next to the sources that the code reads at run time (`schema.graphql`, the Prisma
 * migrations) are found from `dist/` as from `src/`: both sit one level below the package.
 *
 * `bundleForNode` is also how the bench compiles the plain @apollo/gateway baseline, so both
 * gateways run the same way.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const resolving = Symbol('resolving');

/**
 * Packages bundled with the workspace's sources rather than imported from node_modules at run
 * time. zod's entry point loads every module of zod (its 60+ locales among them, ~840 KB of source
 * that V8 keeps for the process's life); bundled, and imported as a namespace (`import * as z from
 * 'zod'`, as zod's own documentation does), only what the code calls is kept: 1.5-2.5 MiB less per
 * subgraph at rest (docs/deployment.md#memory). Bundled whole, with `import { z }`, it cost more
 * than it saved. Only Mercado's own code imports zod, so no schema crosses two copies of it.
 */
const bundledPackages = /^zod(\/|$)/;

/**
 * Packages whose entry point loads far more than Mercado uses of them, imported through a narrower
 * file of their own. bullmq's index loads its optional PostgreSQL backend (~900 KB of generated
 * SQL and code, kept in the heap for the process's life) next to the Redis classes; its
 * `classes` index holds Queue, Worker and the errors, the very modules the index re-exports, so
 * anything else that requires `bullmq` shares them. The package has no `exports` map, so the path
 * is public to Node; the deploy test that runs a staged bundle fails if it moves.
 */
const narrowerEntryPoints: Record<string, string> = { bullmq: 'bullmq/dist/cjs/classes/index.js' };

/** Bare imports stay external, except workspace packages (TypeScript sources) and `bundledPackages`, which are bundled. */
const workspaceSourcesOnly: Plugin = {
  name: 'workspace-sources-only',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@mercado/') || bundledPackages.test(args.path)) return undefined;
      return { path: narrowerEntryPoints[args.path] ?? args.path, external: true };
    });
    // A workspace package, and every module inside one: resolved normally, then marked, so that
    // an unused module is dropped with its imports.
    b.onResolve({ filter: /.*/ }, async (args) => {
      const inWorkspacePackage = args.path.startsWith('@mercado/') || (args.path.startsWith('.') && args.resolveDir.startsWith(packagesDir));
      if (!inWorkspacePackage || args.pluginData === resolving) return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: resolving });
      if (resolved.errors.length) return { errors: resolved.errors };
      // A subgraph imported by name (a tool bundling several) is its own code, with its side effects.
      return { path: resolved.path, sideEffects: resolved.path.startsWith(packagesDir) ? false : undefined };
    });
  },
};

/**
 * Node 24's `node:http` exports undici's `WebSocket` through a lazy getter. Imported from an ES
 * module, a built-in gets an ES facade that reads every export once, so that getter loads undici
 * (745 KB of source) and the web streams, workers and files it needs, in a process that never
 * uses them: 11 MiB of resident memory in a bare Node 24 process that imports `createServer`
 * (measured). The bundle takes `node:http` as its CommonJS exports (`process.getBuiltinModule`),
 * which reads nothing until used; esbuild's interop keeps `import { createServer } from
 * 'node:http'` in the sources as it is.
 */
const httpWithoutEsmFacade: Plugin = {
  name: 'http-without-esm-facade',
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, () => ({ path: 'node:http', namespace: 'builtin-exports' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin-exports' }, (args) => ({ contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/**
 * Prisma's generated client imports its query compiler as a module holding the WebAssembly as a
 * base64 string (2.3 MB for the small postgresql build) and decodes it. An ES module's source is
 * kept for as long as the process runs, and so is the string literal parsed from it: 4.4 MB of
 * heap in every subgraph for bytes used once. The bundle reads the same bytes from a `.wasm` file
 * written next to it at build time instead (found by the image's file trace like any file read
 * through `new URL(..., import.meta.url)`). The generated client's code changes with Prisma
 * versions: if it no longer loads the compiler the way this expects, the build fails here.
 */
function queryCompilerAsFile(outdir: string): Plugin {
  const load = /const \{ wasm \} = await import\("(@prisma\/client\/runtime\/(query_compiler_\w+_bg\.\w+)\.wasm-base64\.mjs)"\)\n(\s*)return await decodeBase64AsWasm\(wasm\)/;
  return {
    name: 'query-compiler-as-file',
    setup(b) {
      b.onLoad({ filter: /[\\/]generated[\\/]prisma[\\/]internal[\\/]class\.ts$/ }, async (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('wasm-base64')) return undefined;
        const match = load.exec(source);
        if (!match) throw new Error(`${args.path}: Prisma's client no longer loads its query compiler as packages/build/src/bundle.ts expects; update queryCompilerAsFile`);
        const [whole, specifier, name, indent] = match as unknown as [string, string, string, string];
        const { wasm } = (await import(pathToFileURL(createRequire(args.path).resolve(specifier)).href)) as { wasm: string };
        mkdirSync(outdir, { recursive: true });
        writeFileSync(`${outdir}/${name}.wasm`, Buffer.from(wasm, 'base64'));
        // Two lines for two, so that the source map's lines still match the generated file's.
        const replacement = `const bytes = readQueryCompiler(new URL(${JSON.stringify(`./${name}.wasm`)}, import.meta.url))\n${indent}return new WebAssembly.Module(bytes)`;
        return { contents: `${source.replace(whole, replacement)}\nimport { readFileSync as readQueryCompiler } from 'node:fs'\n`, loader: 'ts' };
      });
    },
  };
}

/** Compiles `entryPoints` and what they import from the workspace into ES modules in `outdir`. */
export async function bundleForNode(entryPoints: string[], outdir: string): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir,
    bundle: true,
    // Lazily imported modules (the gateway itself in a cluster's primary, the queue dashboard,
    // the migration engine) become chunks of their own, loaded only when imported.
    splitting: true,
    format: 'esm',
    platform: 'node',
    // The Node that builds is the Node that runs (npm start, the image, the tests).
    target: `node${process.versions.node}`,
    sourcemap: 'linked',
    // Names stay as written: stack traces and logs read like the sources.
    keepNames: true,
    logLevel: 'warning',
    plugins: [httpWithoutEsmFacade, workspaceSourcesOnly, queryCompilerAsFile(outdir)],
  });
}

/** Compiles a deployable folder (`gateway`, `subgraphs/<name>`): its `src/main.ts` into its `dist/`, as its `npm run build` does. */
export async function buildDeployable(dir: string): Promise<string> {
  const outdir = `${dir.replace(/\/$/, '')}/dist`;
  await bundleForNode([`${dir.replace(/\/$/, '')}/src/main.ts`], outdir);
  return `${outdir}/main.js`;
}
