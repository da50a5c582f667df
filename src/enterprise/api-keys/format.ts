// API key format (GitHub/Stripe style): `sk_live_` or `sk_test_`, a 32-character base62 body
// (~190 bits from the CSPRNG) and a 6-character base62 CRC32 checksum of everything before it.
// A mistyped or truncated key fails the checksum and is refused without touching the database;
// the fixed prefix makes leaked keys easy to find with secret scanners.
import { createHash, randomInt, timingSafeEqual } from "node:crypto";

export type KeyEnvironment = "live" | "test";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
/** Characters of the body stored in clear for the lookup (unique index); the rest stays secret. */
export const LOOKUP_LENGTH = 12;
const KEY_RE = /^sk_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;
/** Longest string worth parsing; anything longer is refused at once. */
export const MAX_KEY_LENGTH = 8 + BODY_LENGTH + CHECKSUM_LENGTH;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function base62(n: number, width: number): string {
  let out = "";
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function checksum(prefixAndBody: string): string {
  return base62(crc32(prefixAndBody), CHECKSUM_LENGTH);
}

export interface GeneratedKey {
  secret: string;
  environment: KeyEnvironment;
  lookupPrefix: string;
  last4: string;
  hash: Buffer;
}

export function generateKey(environment: KeyEnvironment): GeneratedKey {
  let body = "";
  for (let i = 0; i < BODY_LENGTH; i++) body += ALPHABET[randomInt(62)];
  const head = `sk_${environment}_${body}`;
  const secret = head + checksum(head);
  return { secret, environment, lookupPrefix: body.slice(0, LOOKUP_LENGTH), last4: secret.slice(-4), hash: hashKey(secret) };
}

export interface ParsedKey {
  environment: KeyEnvironment;
  lookupPrefix: string;
}

/** Parse and checksum-verify a presented key; null when it is malformed (no I/O happens). */
export function parseKey(presented: string): ParsedKey | null {
  if (typeof presented !== "string" || presented.length !== MAX_KEY_LENGTH) return null;
  const m = KEY_RE.exec(presented);
  if (!m) return null;
  const head = `sk_${m[1]}_${m[2]}`;
  if (checksum(head) !== m[3]) return null;
  return { environment: m[1] as KeyEnvironment, lookupPrefix: m[2]!.slice(0, LOOKUP_LENGTH) };
}

/** The key has ~190 bits of entropy: a fast hash is the right tool (a slow KDF protects guessable secrets). */
export function hashKey(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Does a string look like an API key (for routing `Authorization: Bearer sk_…`)? */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith("sk_live_") || token.startsWith("sk_test_");
}
