// Knex instances for Enclave. The Postgres client is extended in two ways that the tenancy
// model depends on:
//  - a transaction may carry a `prelude` (SQL sent in the same message as BEGIN), so entering a
//    tenant scope costs no extra round trip;
//  - a connection whose transaction was rolled back is destroyed instead of returned to the pool,
//    so no aborted or half-configured session is ever handed to another request.
import knexPkg, { type Knex } from "knex";
import Client_PG from "knex/lib/dialects/postgres/index.js";
import Transaction_PG from "knex/lib/dialects/postgres/execution/pg-transaction.js";
import pg from "pg";

const { knex } = knexPkg;

// bigint (COUNT, SUM) as JS numbers: our counters stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface ScopedTransactionConfig extends Knex.TransactionConfig {
  /** Statements executed in the same simple-protocol message as BEGIN. Must be built from validated identifiers only. */
  prelude?: string;
}

const ROLLED_BACK = "transaction rolled back";

class ScopedTransaction extends Transaction_PG {
  private readonly prelude?: string;
  constructor(client: unknown, container: unknown, config?: ScopedTransactionConfig, outerTx?: unknown) {
    super(client, container, config, outerTx);
    this.prelude = config?.prelude;
  }
  override begin(conn: unknown) {
    return this.prelude ? this.query(conn, `BEGIN; ${this.prelude}`) : super.begin(conn);
  }
  override rollback(conn: unknown, error: unknown) {
    // A failed transaction's connection is never reused: its session state is not trusted.
    (conn as { __knex__disposed?: unknown }).__knex__disposed ??= ROLLED_BACK;
    return super.rollback(conn, error);
  }
}

class EnclavePgClient extends Client_PG {
  override transaction(...args: unknown[]) {
    const [container, config, outerTx] = args;
    return new ScopedTransaction(this, container, config as ScopedTransactionConfig, outerTx);
  }
}

export interface DbOptions {
  url: string;
  poolMax: number;
  poolMin?: number;
  applicationName: string;
}

export function createKnex(opts: DbOptions): Knex {
  return knex({
    client: EnclavePgClient as unknown as typeof Knex.Client,
    connection: { connectionString: opts.url, application_name: opts.applicationName },
    pool: {
      min: opts.poolMin ?? 0,
      max: opts.poolMax,
      acquireTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      createTimeoutMillis: 5_000,
    },
    acquireConnectionTimeout: 10_000,
    log: {
      // Our own disposal of rolled-back connections is expected, not a warning.
      warn: (message: string) => {
        if (!String(message).includes(ROLLED_BACK)) console.warn(`knex: ${message}`);
      },
    },
  });
}

/** Open a transaction whose first message is `BEGIN; <prelude>`. Commit or roll back is the caller's. */
export function beginScoped(db: Knex, prelude?: string): Promise<Knex.Transaction> {
  return db.transaction(undefined, { prelude } as ScopedTransactionConfig) as Promise<Knex.Transaction>;
}

/** Run fn in a transaction opened with the prelude; commit on success, roll back (and discard the connection) on error. */
export function inScopedTransaction<T>(db: Knex, prelude: string | undefined, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.transaction(fn, { prelude } as ScopedTransactionConfig);
}

/** Replace user and password in a postgres URL. */
export function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Literal-quote a string for the simple query protocol (only used with validated identifiers). */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
