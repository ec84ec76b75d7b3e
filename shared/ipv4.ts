/**
 * IPv4 addresses, masks and prefix lengths as plain arithmetic. Here and not in platform/: the
 * isomorphic parsers (shared/linux-tools/nmcli-connections.ts) need them, and nothing here touches Node.
 */

/** Dotted quad, each part 0..255 without leading zeros (as Node's `net.isIPv4` accepts). */
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIpv4(text: string): boolean {
  return IPV4_RE.test(text);
}

/** `a.b.c.d` as an unsigned 32-bit number; undefined for anything else (IPv6, garbage). */
export function parseIpv4(text: string): number | undefined {
  if (!IPV4_RE.test(text)) return undefined;
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** An unsigned 32-bit number as `a.b.c.d`. */
export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** The mask of a prefix length (`24` → 0xffffff00) as an unsigned number; RangeError unless 0..32. */
export function prefixMask(prefixLength: number): number {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new RangeError('prefix length must be an integer 0..32');
  }
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** `24` → `255.255.255.0` (0..32: ppp links carry /32); RangeError otherwise. */
export function prefixToNetmask(prefixLength: number): string {
  return formatIpv4(prefixMask(prefixLength));
}

/** Whether two addresses (as numbers) fall in the same subnet of `mask`. */
export function sameSubnet(a: number, b: number, mask: number): boolean {
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}
