// knex ships no typings for its dialect internals; these are the two classes Enclave extends.
declare module "knex/lib/dialects/postgres/index.js" {
  const Client_PG: new (config: unknown) => { transaction(...args: unknown[]): unknown };
  export default Client_PG;
}
declare module "knex/lib/dialects/postgres/execution/pg-transaction.js" {
  const Transaction_PG: new (client: unknown, container: unknown, config?: unknown, outerTx?: unknown) => {
    begin(conn: unknown): Promise<unknown>;
    rollback(conn: unknown, error: unknown): Promise<unknown>;
    query(conn: unknown, sql: string, status?: number, value?: unknown): Promise<unknown>;
  };
  export default Transaction_PG;
}
