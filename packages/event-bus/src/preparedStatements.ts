/**
 * Names for SQL texts, so that node-postgres prepares each one once per connection and then only
 * binds and executes it: PostgreSQL parses, analyses and plans an unnamed statement on every
 * execution, which for the services' hot statements (a saga's move is one data-modifying `WITH`
 * of several tables) costs more than running it. Measured: docs/performance.md, run 7.
 *
 * Bounded: the first `limit` distinct texts a process sees get a name, later ones go unnamed
 * (a text built with a varying number of parameters, e.g. an `IN` list, would otherwise grow every
 * connection's set of prepared statements, and PostgreSQL's memory with it, without end).
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
    if (name === undefined && this.names.size < this.limit) this.names.set(text, (name = `mercado_${this.names.size}`));
    return name;
  }
}

/** The process's names: one per text, whichever pool or client sends it (node-postgres keys its cache by name per connection). */
export const statementNames = new StatementNames();
