/**
 * `npm run deploy:generate`: writes what follows from the system manifest (packages/system):
 * the image's entry point and the Kubernetes base. `--check` writes nothing and exits 1 naming
 * every file that differs (the deploy tests run it), so a service added to the manifest fails
 * until its manifests are generated.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entrypointScript } from './entrypoint.ts';

export const deployDir = fileURLToPath(new URL('../', import.meta.url));

/** Every generated file, by path relative to deploy/. */
export function generatedFiles(): Record<string, string> {
  return {
    'image/mercado': entrypointScript(),
  };
}

/** Files under deploy/ that are not what the manifest generates. */
export function staleFiles(): string[] {
  return Object.entries(generatedFiles())
    .filter(([path, content]) => !existsSync(join(deployDir, path)) || readFileSync(join(deployDir, path), 'utf8') !== content)
    .map(([path]) => `deploy/${path}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length) {
      console.error(`stale (run \`npm run deploy:generate\`): ${stale.join(', ')}`);
      process.exit(1);
    }
  } else {
    for (const [path, content] of Object.entries(generatedFiles())) {
      const file = join(deployDir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      if (path.startsWith('image/')) chmodSync(file, 0o755);
    }
    console.log(`wrote ${Object.keys(generatedFiles()).length} files under deploy/`);
  }
}
