/**
 * What the image's runtime stage holds: every deployable's compiled bundle and exactly the files
 * those bundles read at run time, found by tracing them (@vercel/nft follows imports, requires,
 * `new URL(..., import.meta.url)` and the files packages read, such as Prisma's WebAssembly),
 * plus the data files each deployable reads by a computed path (schemas, migrations, the
 * supergraph, the trusted documents) and the image's entry point. No tsx, no TypeScript sources,
 * no development dependencies, no package that no bundle imports.
 *
 *   node --import tsx packages/build/src/stage.ts <outdir>   copies them (the Dockerfile's build stage)
 *   node --import tsx packages/build/src/stage.ts --size     prints their size (npm run image:size)
 *
 * Run after `npm run build` (every deployable's dist/ must exist).
 */
import { createRequire } from 'node:module';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFileTrace } from '@vercel/nft';
import { entryPointOf, gateway, services } from '@mercado/system';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Files a deployable reads by a path it computes, relative to the repository root. */
function dataFilesOf(name: string): string[] {
  if (name === gateway.name) return ['gateway/supergraph.graphql', 'gateway/trusted-documents.json'];
  // `migrate` reads Prisma's schema engine as bytes, next to its JavaScript bindings (packages/db).
  const schemaEngine = createRequire(join(root, 'packages/db/src/')).resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
  return [`subgraphs/${name}/schema.graphql`, ...filesUnder(`prisma/${name}/migrations`), relative(root, schemaEngine)];
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/**
 * Every file the packages in the trace name in their package.json `exports` (and `main`): the
 * tracer follows the condition it analyses, but Node may pick another at run time (a `require`
 * of a package whose `require` condition is an .mjs file, as async-function's is).
 */
function exportedFiles(traced: string[]): string[] {
  const packageDirs = new Set(traced.filter((f) => f.startsWith('node_modules/') && f.endsWith('/package.json')).map((f) => dirname(f)));
  const found: string[] = [];
  const walk = (dir: string, value: unknown): void => {
    if (typeof value === 'string') {
      if (value.startsWith('./') && !value.includes('*')) {
        const file = join(dir, value);
        if (existsSync(join(root, file)) && statSync(join(root, file)).isFile() && !/\.[mc]?tsx?$/.test(file)) found.push(file);
      }
    } else if (Array.isArray(value)) value.forEach((v) => walk(dir, v));
    // Not the conditions only tools follow (types, TypeScript sources).
    else if (value && typeof value === 'object') for (const [key, v] of Object.entries(value)) if (!['types', 'source', '@zod/source'].includes(key)) walk(dir, v);
  };
  for (const dir of packageDirs) {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { exports?: unknown; main?: string };
    walk(dir, manifest.exports);
    if (manifest.main) walk(dir, manifest.main.startsWith('./') ? manifest.main : `./${manifest.main}`);
  }
  return found;
}

export interface Stage {
  /** Paths relative to the repository root (and to the image's /app). */
  files: string[];
  bytes: number;
  /** Bytes by top-level area (node_modules/<package>, subgraphs/<name>, ...). */
  byArea: Map<string, number>;
}

/** Traces every deployable's bundle: the files the runtime stage copies. */
export async function traceStage(): Promise<Stage> {
  const deployables = [gateway.name, ...services.map((s) => s.name)];
  const entries: string[] = [];
  for (const name of deployables) {
    const dist = join(root, dirname(entryPointOf(name)));
    if (!existsSync(join(root, entryPointOf(name)))) throw new Error(`${entryPointOf(name)} does not exist: run \`npm run build\` first`);
    // The entry point and its chunks (lazily imported modules: the queue dashboard, the migration engine).
    entries.push(...readdirSync(dist).filter((f) => f.endsWith('.js')).map((f) => join(dist, f)));
  }
  const { fileList, warnings } = await nodeFileTrace(entries, { base: root, processCwd: root, mixedModules: true });
  // Unresolved optional requires and non-JavaScript files a package names (licences) are not errors.
  for (const warning of warnings) if (!/Failed to resolve dependency|Failed to parse .*(LICENSE|\.md)/.test(String(warning))) console.warn(`trace: ${warning}`);
  const files = new Set([...fileList].filter((f) => !f.endsWith('.map') && !f.endsWith('.d.ts') && !f.endsWith('.d.mts')));
  for (const file of exportedFiles([...files])) files.add(file);
  for (const name of deployables) for (const file of dataFilesOf(name)) files.add(file);
  files.add('deploy/image/mercado');
  const byArea = new Map<string, number>();
  let bytes = 0;
  for (const file of files) {
    const stat = lstatSync(join(root, file));
    if (stat.isDirectory() || stat.isSymbolicLink()) continue;
    bytes += stat.size;
    const parts = file.split('/');
    const area = parts[0] === 'node_modules' ? parts.slice(0, parts[1]!.startsWith('@') ? 3 : 2).join('/') : parts.slice(0, 2).join('/');
    byArea.set(area, (byArea.get(area) ?? 0) + stat.size);
  }
  return { files: [...files].sort(), bytes, byArea };
}

/** Copies the stage into `outdir` (files, and symbolic links as what they point to), the entry point to bin/mercado. */
export function copyStage(stage: Stage, outdir: string): void {
  rmSync(outdir, { recursive: true, force: true });
  for (const file of stage.files) {
    const from = join(root, file);
    if (statSync(from).isDirectory()) continue;
    const to = join(outdir, file === 'deploy/image/mercado' ? 'bin/mercado' : file);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(realpathSync(from), to, { preserveTimestamps: false });
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [target] = process.argv.slice(2);
  if (!target) {
    console.error('usage: stage.ts <outdir> | --size');
    process.exit(2);
  }
  const stage = await traceStage();
  if (target === '--size') {
    console.log(`runtime stage: ${stage.files.length} files, ${mb(stage.bytes)} (what the Dockerfile copies onto node:24-bookworm-slim)`);
    const areas = [...stage.byArea].sort((a, b) => b[1] - a[1]);
    for (const [area, bytes] of areas.slice(0, 15)) console.log(`  ${mb(bytes).padStart(9)}  ${area}`);
    const rest = areas.slice(15).reduce((sum, [, bytes]) => sum + bytes, 0);
    console.log(`  ${mb(rest).padStart(9)}  ${areas.length - 15} other areas`);
  } else {
    copyStage(stage, target);
    console.log(`staged ${stage.files.length} files (${mb(stage.bytes)}) into ${target}`);
  }
}
