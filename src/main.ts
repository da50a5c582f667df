// Entry point: load config, build the app, listen, and stop gracefully on SIGTERM/SIGINT.
import "reflect-metadata";
import { buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config/index.js";
import { createLogger } from "./observability/logger.js";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const logger = createLogger(config);
// A stray rejection from a background task (a Redis or PostgreSQL outage) must not take the
// gateway down: log it loudly and keep serving. Uncaught exceptions still end the process.
process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
const startedAt = performance.now();
const app = await buildApp(config, { logger });
const url = await app.start();
const ms = Math.round(performance.now() - startedAt);
logger.info({ url, startupMs: ms }, "Enclave is listening");

const lines = [
  "",
  `  Enclave GraphQL gateway — ready in ${ms} ms`,
  `  GraphQL (HTTP + WebSocket): ${url}/graphql`,
  config.graphql.sandbox ? `  Apollo Sandbox:              open ${url}/graphql in a browser` : "",
  `  Health:                      ${url}/healthz   ${url}/readyz`,
];
if (app.demo) {
  lines.push("", `  Demo users (password: ${app.demo.password})`);
  for (const u of app.demo.users) lines.push(`    ${u.email.padEnd(28)} ${u.role.padEnd(16)} ${u.organization ?? "(platform)"}`);
  lines.push("", "  Log in from Sandbox:", `    mutation { login(input: { email: "${app.demo.users[1]?.email}", password: "${app.demo.password}" }) { accessToken refreshToken } }`,
    `  then set the header  Authorization: Bearer <accessToken>`);
}
console.log(lines.filter((l) => l !== "").join("\n").replace(/^/, "") + "\n");

let shuttingDown = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error("graceful shutdown timed out");
      process.exit(1);
    }, config.shutdownTimeoutMs + 2_000);
    force.unref();
    app.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
