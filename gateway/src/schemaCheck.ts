/**
 * Breaking changes to the client-facing schema. The API schema (what clients can query: the
 * supergraph minus federation's bookkeeping and @inaccessible elements) is committed as
 * gateway/api-schema.graphql. `--check` (root `npm run schema:check`) composes the subgraphs'
 * schema files and fails when
 *  - the new API schema breaks clients of the supergraph on main (at the merge base) or of the
 *    committed snapshot,
 *    unless every breaking change is acknowledged in gateway/schema-changes.json with a reason;
 *  - a trusted document (gateway/trusted-documents.json) no longer validates against it;
 *  - the committed snapshot is stale (`npm run schema:update -w @mercado/gateway` rewrites it).
 * Without `--check` it rewrites the snapshot.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { federation, graphql } from './executor/apolloInternals.ts';
import { composeSupergraph } from './compose.ts';
import { operationProblems } from './generateTrustedDocuments.ts';
import { trustedDocumentsPath } from './trustedDocuments.ts';

const root = new URL('../../', import.meta.url);
export const snapshotFile = 'gateway/api-schema.graphql';
export const acknowledgementsFile = 'gateway/schema-changes.json';
export const updateCommand = 'npm run schema:update -w @mercado/gateway';

/** One acknowledged breaking change: its schema coordinate (`Product.price`), optionally its kind. */
export interface Acknowledgement {
  path: string;
  /** graphql-inspector's change type (`FIELD_REMOVED`, ...); any kind at `path` when absent. */
  type?: string;
  reason: string;
}

/** The API schema clients see, printed in a stable (sorted) order. */
export function apiSchemaSdl(supergraphSdl: string): string {
  const api = federation.Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
  return `${graphql.printSchema(graphql.lexicographicSortSchema(api))}\n`;
}

export interface SchemaChangeReport {
  /** Breaking changes nobody acknowledged: each fails the check. */
  unacknowledged: Change[];
  /** Breaking changes with an acknowledgement, and its reason. */
  acknowledged: Array<{ change: Change; reason: string }>;
  /** Changes that may surprise a client (a new enum value, a new optional argument's default). */
  dangerous: Change[];
  safe: Change[];
}

function matches(ack: Acknowledgement, change: Change): boolean {
  return ack.path === change.path && (ack.type === undefined || ack.type === change.type);
}

/** Every change from `oldSdl` to `newSdl`, with breaking ones split by acknowledgement. */
export async function compareApiSchemas(oldSdl: string, newSdl: string, acknowledgements: Acknowledgement[]): Promise<SchemaChangeReport> {
  // The gateway's graphql-js: the same copy graphql-inspector loads (a test runner may hand a
  // bare `graphql` import its ES module build, whose types the inspector would not accept).
  const changes = await diff(graphql.buildSchema(oldSdl), graphql.buildSchema(newSdl));
  const report: SchemaChangeReport = { unacknowledged: [], acknowledged: [], dangerous: [], safe: [] };
  for (const change of changes) {
    if (change.criticality.level === CriticalityLevel.Breaking) {
      const ack = acknowledgements.find((a) => matches(a, change));
      if (ack) report.acknowledged.push({ change, reason: ack.reason });
      else report.unacknowledged.push(change);
    } else if (change.criticality.level === CriticalityLevel.Dangerous) report.dangerous.push(change);
    else report.safe.push(change);
  }
  return report;
}

/** gateway/schema-changes.json, checked: an array of `{ path, type?, reason }`, each with a reason. */
export function parseAcknowledgements(json: string): Acknowledgement[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) throw new Error(`${acknowledgementsFile} must be an array of { path, type?, reason }`);
  return value.map((entry: unknown, i) => {
    const e = entry as Partial<Acknowledgement> | null;
    if (!e || typeof e.path !== 'string' || typeof e.reason !== 'string' || e.reason.trim() === '') {
      throw new Error(`${acknowledgementsFile}[${i}] needs a "path" and a non-empty "reason"`);
    }
    if (e.type !== undefined && typeof e.type !== 'string') throw new Error(`${acknowledgementsFile}[${i}].type must be a string`);
    return { path: e.path, ...(e.type === undefined ? {} : { type: e.type }), reason: e.reason };
  });
}

/** The trusted documents' texts that do not validate against a supergraph, one line each. */
export function trustedDocumentProblems(supergraphSdl: string, manifestJson: string): string[] {
  const manifest = JSON.parse(manifestJson) as Record<string, string>;
  const operations = Object.entries(manifest).map(([hash, text]) => {
    const name = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1] ?? 'anonymous';
    return { file: `trusted document ${name} (${hash.slice(0, 12)})`, text };
  });
  return operationProblems(operations, supergraphSdl);
}

/**
 * The API schema of the supergraph committed on main (at the merge base with HEAD): what
 * clients use today. Undefined without git or a main branch.
 */
function apiSchemaOnMain(): { ref: string; sdl: string } | undefined {
  const cwd = fileURLToPath(root);
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const candidates = process.env.SCHEMA_BASE_REF ? [process.env.SCHEMA_BASE_REF] : ['main', 'origin/main'];
  for (const ref of candidates) {
    try {
      const base = git('merge-base', 'HEAD', ref).trim();
      return { ref: `${ref} (${base.slice(0, 10)})`, sdl: apiSchemaSdl(git('show', `${base}:gateway/supergraph.graphql`)) };
    } catch {}
  }
  return undefined;
}

const describe = (change: Change) => `${change.path ?? '(schema)'} ${change.type}: ${change.message}`;

async function check(): Promise<number> {
  const supergraphSdl = composeSupergraph();
  const current = apiSchemaSdl(supergraphSdl);
  const snapshotPath = new URL(snapshotFile, root);
  const committed = existsSync(snapshotPath) ? readFileSync(snapshotPath, 'utf8') : undefined;
  const ackPath = new URL(acknowledgementsFile, root);
  const acknowledgements = existsSync(ackPath) ? parseAcknowledgements(readFileSync(ackPath, 'utf8')) : [];
  let failed = false;

  // Breaking against main's snapshot (what clients use today) and against the committed one
  // (catches a change made after the snapshot was rewritten on this branch, and works without git).
  const baselines: Array<{ name: string; sdl: string }> = [];
  const onMain = apiSchemaOnMain();
  if (onMain) baselines.push({ name: `the supergraph on ${onMain.ref}`, sdl: onMain.sdl });
  else console.log('schema check: no main branch to compare with (set SCHEMA_BASE_REF); comparing with the committed snapshot only');
  if (committed !== undefined && committed !== onMain?.sdl) baselines.push({ name: `committed ${snapshotFile}`, sdl: committed });

  const reported = new Set<string>();
  for (const baseline of baselines) {
    const report = await compareApiSchemas(baseline.sdl, current, acknowledgements);
    for (const { change, reason } of report.acknowledged) {
      if (reported.has(describe(change))) continue;
      reported.add(describe(change));
      console.log(`schema check: acknowledged breaking change ${describe(change)} (reason: ${reason})`);
    }
    for (const change of report.dangerous) console.log(`schema check: dangerous change against ${baseline.name}: ${describe(change)}`);
    if (report.unacknowledged.length > 0) {
      failed = true;
      console.error(
        `schema check: breaking changes to the client-facing schema against ${baseline.name}:\n` +
          report.unacknowledged.map((c) => `  - ${describe(c)}`).join('\n') +
          `\nEither keep the old field/type/argument (deprecate it first), or acknowledge each change in ${acknowledgementsFile}:\n` +
          JSON.stringify(report.unacknowledged.map((c) => ({ path: c.path, type: c.type, reason: 'why clients may break, and who was told' })), null, 2),
      );
    }
  }

  const problems = trustedDocumentProblems(supergraphSdl, readFileSync(trustedDocumentsPath, 'utf8'));
  if (problems.length > 0) {
    failed = true;
    console.error(`schema check: trusted documents no longer validate against the composed schema:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }

  if (committed !== current) {
    failed = true;
    console.error(`schema check: ${snapshotFile} is ${committed === undefined ? 'missing' : 'stale'}: run \`${updateCommand}\` and commit it`);
  }
  if (!failed) console.log(`schema check: client-facing schema ok (${baselines.length} baseline(s), ${reported.size} acknowledged change(s))`);
  return failed ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    process.exitCode = await check();
  } else {
    const file = fileURLToPath(new URL(snapshotFile, root));
    writeFileSync(file, apiSchemaSdl(composeSupergraph()));
    console.log(`wrote ${file}`);
  }
}
