import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const gatewayDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * How V8 stores the JSON of a response object whose field names went through Apollo's schema
 * loading, in a fresh process (the string table is per process): `%DebugPrint` names the string
 * type. `pin` interns the supergraph's names first, as the gateway does. (Without it the same
 * script prints CONS_STRING_TYPE, two-byte, with @apollo/gateway 2.14 on Node 20; not asserted,
 * since a later Apollo may stop producing two-byte names.)
 */
function responseStringType(pin: boolean): string {
  const script = `
    import { readFileSync } from 'node:fs';
    import { federation } from './src/executor/apolloInternals.ts';
    import { pinSupergraphNames } from './src/oneByteNames.ts';
    // An emoji in a description makes the whole supergraph text UTF-16.
    const sdl = readFileSync('supergraph.graphql', 'utf8') + '\\n"""Products 🛒"""\\nscalar Emoji\\n';
    if (${pin}) pinSupergraphNames(sdl);
    const supergraph = federation.Supergraph.build(sdl, { validateSupergraph: false });
    supergraph.schema.toGraphQLJSSchema();
    const fields = supergraph.schema.type('Product').fields().map((field) => field.name);
    const response = JSON.stringify(Object.fromEntries(fields.map((name) => [name.slice(0), 1])));
    new Function('s', '%DebugPrint(s)')(response);
  `;
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: gatewayDir,
    encoding: 'utf8',
    env: { ...process.env, APOLLO_TELEMETRY_DISABLED: '1' },
  });
  const type = /type: (\w+)/.exec(run.stdout)?.[1];
  if (!type) throw new Error(`no string type in the output:\n${run.stdout}\n${run.stderr}`);
  return type;
}

describe('supergraph names', () => {
  it('serialize as one-byte strings once pinned, even from a supergraph that is not one-byte', () => {
    expect(responseStringType(true)).toMatch(/ONE_BYTE/);
  }, 60_000);
});
