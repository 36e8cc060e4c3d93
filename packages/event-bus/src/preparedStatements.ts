/** `IN ($1,$2` or `),($3`: a list of placeholders as long as the values it was built for. */
const variesWithValues = /\bIN \(\$\d+,\s*\$\d+|\),\s*\(\$\d+/i;

/**
 * Names for SQL texts, so that node-postgres prepares each one once per connection and then only
 * binds and executes it: PostgreSQL parses, analyses and plans an unnamed statement on every
 * execution, which for the services' hot statements (a saga's move is one data-modifying `WITH`
 * of several tables) costs more than running it. Measured: docs/performance.md, run 7.
 *
 * Bounded: a text whose shape follows the number of its values (Prisma writes `IN ($1,$2,...)`
 * and multi-row `VALUES (...),(...)`, one text per length) goes unnamed, since PostgreSQL keeps a
 * plan for each prepared statement on each connection; and past the first `limit` distinct texts
 * a process sees, the rest go unnamed too.
 *
 * Behind a pooler in transaction mode (PgBouncer before 1.21, or without `max_prepared_statements`)
 * named statements break: set `DATABASE_PREPARED_STATEMENTS=false` there.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();

  constructor(
    private readonly limit = 500,
    readonly enabled = process.env.DATABASE_PREPARED_STATEMENTS !== 'false',
  ) {}

  /** The name of `text`, or undefined: send it unnamed. */
  of(text: string): string | undefined {
    if (!this.enabled) return undefined;
    let name = this.names.get(text);
    if (name === undefined && this.names.size < this.limit && !variesWithValues.test(text)) this.names.set(text, (name = `mercado_${this.names.size}`));
    return name;
  }

  /** How many texts have a name. */
  get size(): number {
    return this.names.size;
  }
}

/** The process's names: one per text, whichever pool or client sends it (node-postgres keys its cache by name per connection). */
export const statementNames = new StatementNames();

/** A query for node-postgres: named (prepared once per connection) when `statementNames` gives it a name. */
export function preparedQuery(text: string, values: unknown[]): { name?: string; text: string; values: unknown[] } {
  const name = statementNames.of(text);
  return name ? { name, text, values } : { text, values };
}
