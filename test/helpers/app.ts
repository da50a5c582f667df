// Boots the real gateway on a free port against the run's database, and speaks GraphQL to it.
import "reflect-metadata";
import { buildApp, type App } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config/index.js";

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>; extensions?: Record<string, any> };
}

export interface TestApp {
  app: App;
  url: string;
  config: Config;
  /** POST a GraphQL operation; token is an access token (added as Bearer). */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: "test",
    SEED_DEMO: "false",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    DATABASE_POOL_MAX: "5",
    // Limits and quotas are off unless a test asks for them: other suites make hundreds of calls
    // from one address on free-plan organizations. Their own tests turn them on.
    RATE_LIMITS_ENABLED: "false",
    QUOTAS_ENABLED: "false",
    ...env,
  });
  const app = await buildApp(config);
  const base = await app.start(0, "127.0.0.1");
  const url = `${base}/graphql`;
  return {
    app,
    url,
    config,
    async gql(query, variables, token, headers = {}) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse["body"] };
    },
    close: () => app.stop(),
  };
}

/** The `extensions.code` of each error, in order. */
export function codes(res: GqlResponse): string[] {
  return (res.body.errors ?? []).map((e) => e.extensions?.code);
}
