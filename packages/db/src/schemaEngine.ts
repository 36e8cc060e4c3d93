import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPg } from '@prisma/adapter-pg';
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

/** Opens a schema engine connected to one database; free it with `engine.free()`. */
export async function openSchemaEngine(connectionString: string): Promise<SchemaEngine> {
  const bg = await loadBindings();
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString }));
  const engineLog = () => {};
  return bg.SchemaEngine.new({ datamodels: undefined }, engineLog, adapter);
}
