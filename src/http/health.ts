// Liveness (/healthz: the process answers) and readiness (/readyz: the database answers and we
// are not draining). Readiness fails first on shutdown so load balancers stop sending traffic.
import type { Router } from "express";
import express from "express";
import type { Knex } from "knex";

export function healthRouter(db: Knex, isDraining: () => boolean): Router {
  const r = express.Router();
  r.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  r.get("/readyz", async (_req, res) => {
    if (isDraining()) return void res.status(503).json({ status: "draining" });
    try {
      await Promise.race([
        db.raw("SELECT 1"),
        new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 2_000).unref()),
      ]);
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "unavailable", checks: { database: "down" } });
    }
  });
  return r;
}
