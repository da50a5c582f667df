// Access tokens: short-lived JWTs. Keys are built once at startup (a string secret costs ~1 ms of
// CPU per verify in jsonwebtoken; a KeyObject costs ~20 µs). RFC 8725: algorithm allowlist of one,
// issuer and audience checked exactly, token type checked, small clock leeway; jku/x5u are never fetched.
import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { Config } from "../config/index.js";
import { unauthenticated } from "../errors/app-error.js";
import { isOrgRole, type OrgRole } from "../permissions/matrix.js";

export const ACCESS_TOKEN_TYPE = "at+jwt";
const CLOCK_TOLERANCE_SECONDS = 5;

export interface AccessClaims {
  /** user id */
  sub: string;
  /** active organization id, absent for a super admin who has not switched into one */
  org?: string;
  /** role in the active organization */
  role?: OrgRole;
  /** platform super admin */
  sa?: boolean;
  /** refresh-session family id: the login this token belongs to */
  sid: string;
  exp: number;
  iat: number;
}

export class TokenService {
  private readonly signKey: KeyObject;
  private readonly verifyKey: KeyObject;
  private readonly alg: "HS256" | "RS256";

  constructor(private readonly cfg: Config["jwt"]) {
    this.alg = cfg.algorithm;
    if (cfg.algorithm === "HS256") {
      if (!cfg.secret) throw new Error("JWT_SECRET is required for HS256");
      this.signKey = this.verifyKey = createSecretKey(Buffer.from(cfg.secret, "utf8"));
    } else {
      if (!cfg.privateKey || !cfg.publicKey) throw new Error("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are required for RS256");
      this.signKey = createPrivateKey(cfg.privateKey);
      this.verifyKey = createPublicKey(cfg.publicKey);
    }
  }

  get accessTtlSeconds(): number {
    return this.cfg.accessTtlSeconds;
  }

  signAccess(claims: { sub: string; org?: string; role?: OrgRole; sa?: boolean; sid: string }, ttlSeconds = this.cfg.accessTtlSeconds): string {
    return jwt.sign(claims, this.signKey, {
      algorithm: this.alg,
      expiresIn: ttlSeconds,
      issuer: this.cfg.issuer,
      audience: this.cfg.audience,
      header: { alg: this.alg, typ: ACCESS_TOKEN_TYPE },
    });
  }

  /** Verify an access token; any failure is UNAUTHENTICATED with a reason that reveals nothing secret. */
  verifyAccess(token: string): AccessClaims {
    let decoded: jwt.Jwt;
    try {
      decoded = jwt.verify(token, this.verifyKey, {
        algorithms: [this.alg],
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        complete: true,
      });
    } catch (err) {
      throw unauthenticated(err instanceof jwt.TokenExpiredError ? "Access token expired" : "Invalid access token");
    }
    const p = decoded.payload as Partial<AccessClaims>;
    if (decoded.header.typ !== ACCESS_TOKEN_TYPE) throw unauthenticated("Invalid access token");
    if (typeof p.sub !== "string" || typeof p.sid !== "string") throw unauthenticated("Invalid access token");
    if (p.org !== undefined && (typeof p.org !== "string" || !isOrgRole(p.role))) throw unauthenticated("Invalid access token");
    return p as AccessClaims;
  }
}
