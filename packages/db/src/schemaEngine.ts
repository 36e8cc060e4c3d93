import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

/**
 * Prisma's schema engine compiled to WebAssembly. The native engine binary cannot be
 * downloaded offline; the wasm build is the same engine and writes the same
 * `_prisma_migrations` bookkeeping as `prisma migrate deploy`.
 *
 * The package's entry point imports the .wasm file as an ES module, which Node 20 only allows
 * behind --experimental-wasm-modules. We instantiate it by hand instead, so that any process
 * (vitest, tsx) can migrate without special flags.
 */
type WasmExports = Record<string, unknown>;
type Bindings = typeof import('@prisma/schema-engine-wasm/schema_engine_bg') & {
  __wbg_set_wasm(exports: WasmExports): void;
};
// Node has WebAssembly; TypeScript only types it in the DOM lib, which services must not see.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: WasmExports } }>;
};

let bindings: Promise<Bindings> | undefined;

function loadBindings(): Promise<Bindings> {
  bindings ??= (async () => {
    const bgPath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bg = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as Bindings;
    const bytes = await readFile(bgPath.replace(/\.js$/, '.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg as never });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg;
  })();
  return bindings;
}

/**
 * Runs `work` with a schema engine connected to one database, then frees the engine and closes
 * its connections. The engine takes PostgreSQL's migration advisory lock (72707369) on the
 * session it migrates with and never unlocks it; freeing the engine does not close the adapter's
 * pool, so that session, and the lock, outlived every call by the pool's 10 s idle timeout. The
 * next migration of the same database (a second replica starting, a test applying twice) waited
 * for it, racing the engine's own 10 s lock timeout (seen in CI: "Timed out trying to acquire a
 * postgres advisory lock" on a loaded machine). The pool is ours here, and ended here.
 */
export async function withSchemaEngine<T>(connectionString: string, work: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const bg = await loadBindings();
  const pool = new pg.Pool({ connectionString });
  pool.on('error', () => {}); // an idle connection dropped by the server: the next query reconnects
  try {
    const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
    const engineLog = () => {};
    const engine = await bg.SchemaEngine.new({ datamodels: undefined }, engineLog, adapter);
    try {
      return await work(engine);
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}
