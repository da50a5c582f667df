import { describe, expect, it } from "vitest";
import { checksum, crc32, generateKey, hashKey, looksLikeApiKey, parseKey } from "../../src/enterprise/api-keys/format.js";
import { buildAllowlist, ipAllowed, normalizeCidrs } from "../../src/enterprise/api-keys/ip-allowlist.js";

describe("API key format", () => {
  it("generates sk_live_/sk_test_ keys with a 32-character body and a checksum", () => {
    const live = generateKey("live");
    const test = generateKey("test");
    expect(live.secret).toMatch(/^sk_live_[0-9A-Za-z]{38}$/);
    expect(test.secret).toMatch(/^sk_test_[0-9A-Za-z]{38}$/);
    expect(live.secret.slice(-6)).toBe(checksum(live.secret.slice(0, -6)));
    expect(live.last4).toBe(live.secret.slice(-4));
    expect(live.lookupPrefix).toBe(live.secret.slice(8, 20));
    expect(live.hash.equals(hashKey(live.secret))).toBe(true);
    expect(generateKey("live").secret).not.toBe(live.secret);
  });

  it("parses a valid key and refuses any single-character change", () => {
    const { secret, lookupPrefix } = generateKey("live");
    expect(parseKey(secret)).toEqual({ environment: "live", lookupPrefix });
    let refused = 0;
    for (let i = 8; i < secret.length; i++) {
      const c = secret[i] === "a" ? "b" : "a";
      const changed = secret.slice(0, i) + c + secret.slice(i + 1);
      if (parseKey(changed) === null) refused++;
    }
    expect(refused).toBe(secret.length - 8);
  });

  it("refuses malformed keys: wrong prefix, length, characters, swapped environment", () => {
    const { secret } = generateKey("test");
    expect(parseKey(secret.replace("sk_test_", "sk_live_"))).toBeNull();
    expect(parseKey(secret.slice(0, -1))).toBeNull();
    expect(parseKey(secret + "x")).toBeNull();
    expect(parseKey(secret.replace(/^sk_/, "pk_"))).toBeNull();
    expect(parseKey(`${secret.slice(0, 20)}-${secret.slice(21)}`)).toBeNull();
    expect(parseKey("")).toBeNull();
  });

  it("uses CRC-32 (IEEE) for the checksum", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(looksLikeApiKey("sk_live_x")).toBe(true);
    expect(looksLikeApiKey("eyJhbGciOi")).toBe(false);
  });
});

describe("IP allowlist", () => {
  it("normalises CIDRs and refuses invalid ones", () => {
    expect(normalizeCidrs(["10.0.0.0/8", "2001:DB8::/32", "192.0.2.7"])).toEqual(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]);
    for (const bad of ["10.0.0.0/33", "nope", "10.0.0.0/8/1", "::/129", "1.2.3.4/ 8"]) expect(() => normalizeCidrs([bad])).toThrow();
  });

  it("matches IPv4, IPv4-mapped IPv6 and IPv6 addresses", () => {
    const list = buildAllowlist(normalizeCidrs(["10.1.0.0/16", "2001:db8::/32"]));
    expect(ipAllowed(list, "10.1.2.3")).toBe(true);
    expect(ipAllowed(list, "::ffff:10.1.2.3")).toBe(true);
    expect(ipAllowed(list, "10.2.0.1")).toBe(false);
    expect(ipAllowed(list, "2001:db8::1")).toBe(true);
    expect(ipAllowed(list, "2001:db9::1")).toBe(false);
    expect(ipAllowed(list, undefined)).toBe(false);
    expect(ipAllowed(buildAllowlist([]), "203.0.113.9")).toBe(true);
  });
});
