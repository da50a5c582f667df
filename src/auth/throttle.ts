// Login throttling shared by every replica (it lives in the control plane). Keys are the submitted
// email (known or not, so throttling reveals nothing) and the client address. Each failure past the
// threshold doubles the lock, up to a cap; a successful login clears the email's record.
import type { Knex } from "knex";
import { rateLimited } from "../errors/app-error.js";

export interface ThrottlePolicy {
  threshold: number;
  baseLockSeconds: number;
  maxLockSeconds: number;
  /** failures older than this are forgotten */
  windowSeconds: number;
}

export const EMAIL_POLICY: ThrottlePolicy = { threshold: 5, baseLockSeconds: 30, maxLockSeconds: 900, windowSeconds: 900 };
export const ADDRESS_POLICY: ThrottlePolicy = { threshold: 50, baseLockSeconds: 60, maxLockSeconds: 900, windowSeconds: 900 };

const table = (db: Knex) => db.withSchema("control").table("login_throttle");

export class LoginThrottle {
  constructor(private readonly db: Knex) {}

  /** Throws RATE_LIMITED while any of the keys is locked. */
  async assertOpen(keys: string[]): Promise<void> {
    const row = await table(this.db)
      .whereIn("key", keys)
      .where("locked_until", ">", this.db.fn.now())
      .max({ until: "locked_until" })
      .first();
    const until = row?.until as Date | null | undefined;
    if (until) {
      const retryAfter = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000));
      throw rateLimited("Too many failed login attempts; try again later", retryAfter);
    }
  }

  /** Record one failure; returns true if this failure locked the key. */
  async recordFailure(key: string, p: ThrottlePolicy): Promise<boolean> {
    const { rows } = await this.db.raw(
      `INSERT INTO control.login_throttle AS t (key, failures, last_failure_at, locked_until)
       VALUES (:key, 1, now(), NULL)
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN t.last_failure_at < now() - make_interval(secs => :window) THEN 1 ELSE t.failures + 1 END,
         last_failure_at = now()
       RETURNING failures`,
      { key, window: p.windowSeconds },
    );
    const failures = rows[0].failures as number;
    if (failures < p.threshold) return false;
    const lockSeconds = Math.min(p.maxLockSeconds, p.baseLockSeconds * 2 ** Math.min(20, failures - p.threshold));
    await table(this.db).where({ key }).update({ locked_until: this.db.raw("now() + make_interval(secs => ?)", [lockSeconds]) });
    return true;
  }

  async clear(key: string): Promise<void> {
    await table(this.db).where({ key }).delete();
  }
}
