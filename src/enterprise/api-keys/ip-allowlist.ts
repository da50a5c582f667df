// IP allowlists as CIDR lists: validated and normalised at creation, matched with node:net BlockList.
import { BlockList, isIP } from "node:net";
import { badInput } from "../../errors/app-error.js";

export const MAX_ALLOWLIST_ENTRIES = 50;

/** Validate and normalise CIDRs ("10.0.0.0/8", "2001:db8::/32"; a bare address means a single host). */
export function normalizeCidrs(input: readonly string[]): string[] {
  if (input.length > MAX_ALLOWLIST_ENTRIES) throw badInput(`at most ${MAX_ALLOWLIST_ENTRIES} CIDRs`, "ipAllowlist");
  return input.map((raw) => {
    const s = String(raw).trim();
    const [addr, bitsRaw, extra] = s.split("/");
    const family = isIP(addr ?? "");
    const max = family === 4 ? 32 : 128;
    const bits = bitsRaw === undefined ? max : Number(bitsRaw);
    if (!family || extra !== undefined || !Number.isInteger(bits) || bits < 0 || bits > max || (bitsRaw !== undefined && !/^\d{1,3}$/.test(bitsRaw)))
      throw badInput(`not a valid CIDR: ${s.slice(0, 60)}`, "ipAllowlist");
    return `${addr!.toLowerCase()}/${bits}`;
  });
}

export function buildAllowlist(cidrs: readonly string[]): BlockList | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split("/");
    list.addSubnet(addr!, Number(bits), isIP(addr!) === 4 ? "ipv4" : "ipv6");
  }
  return list;
}

/** An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is matched as IPv4. */
export function normalizeIp(ip: string | undefined): { address: string; family: "ipv4" | "ipv6" } | null {
  if (!ip) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  const family = isIP(address);
  return family ? { address, family: family === 4 ? "ipv4" : "ipv6" } : null;
}

export function ipAllowed(list: BlockList | null, ip: string | undefined): boolean {
  if (!list) return true;
  const n = normalizeIp(ip);
  return n !== null && list.check(n.address, n.family);
}
