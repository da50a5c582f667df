import { pino, type Logger as PinoLogger } from "pino";
import type { Config } from "../config/index.js";

export type Logger = PinoLogger;

export function createLogger(config: Pick<Config, "logLevel">): Logger {
  return pino({
    level: config.logLevel,
    base: undefined,
    // Credentials never reach the log, whatever object carries them.
    redact: {
      paths: ["password", "*.password", "token", "*.token", "refreshToken", "*.refreshToken", "authorization", "*.authorization", "req.headers.authorization", "req.headers[\"x-api-key\"]", "secret", "*.secret", "apiKey", "*.apiKey"],
      censor: "[redacted]",
    },
  });
}
