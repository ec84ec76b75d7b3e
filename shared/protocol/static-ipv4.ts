/**
 * Static IPv4 for one network (the `ipv4` key of a network, shared/protocol/network-input.ts):
 * instead of asking DHCP, the device takes `address`/`prefixLength`, routes through `gateway` and
 * resolves with `dns`. Judged so the settings can work: a usable unicast address that is neither the
 * network's own address nor its broadcast, a gateway on the same link, at most three DNS servers
 * (what a resolver reads). `address` may also be given as `a.b.c.d/nn` (what a technician types);
 * the output always has the two apart, and parsing it again gives the same output.
 */
import { z } from 'zod';
import { formatIpv4, parseIpv4, prefixMask, sameSubnet } from '../ipv4';
import { judged, refuse } from '../validate';

export const IPV4_PREFIX_MIN = 1;
/** /31 and /32 have no room for a gateway beside the address: not what a Wi-Fi network hands out. */
export const IPV4_PREFIX_MAX = 30;
export const IPV4_DNS_MAX = 3;

export interface StaticIpv4 {
  address: string;
  prefixLength: number;
  /** The default route; absent on a network with no way out (the device is still reachable on-link). */
  gateway?: string | undefined;
  /** Name servers in order; may be empty. */
  dns: string[];
}

const rawStaticIpv4Schema = z.strictObject({
  address: z.string().max(18),
  prefixLength: z.number().int().optional(),
  gateway: z
    .string()
    .max(15)
    .optional()
    .transform((s) => (s === '' ? undefined : s)),
  dns: z.array(z.string().max(15)).max(IPV4_DNS_MAX, `at most ${IPV4_DNS_MAX} DNS servers`).optional(),
});
export type StaticIpv4Raw = z.input<typeof rawStaticIpv4Schema>;

/** Why `value` (a parsed address) cannot be a host's unicast address, or undefined. */
function unicastProblem(value: number): string | undefined {
  const first = value >>> 24;
  if (first === 0) return 'is in 0.0.0.0/8, which no host may use';
  if (first === 127) return 'is a loopback address';
  if (first >= 224) return 'is a multicast or reserved address';
  if (first === 169 && ((value >>> 16) & 0xff) === 254)
    return 'is link-local (169.254.0.0/16), which hosts assign themselves';
  return undefined;
}

function address(path: string | [string, number], text: string): number {
  const value = parseIpv4(text);
  const what = typeof path === 'string' ? path : `${path[0]}[${path[1]}]`;
  if (value === undefined) return refuse('INVALID_IPV4', path, `${what} must be an IPv4 address (a.b.c.d)`);
  const problem = unicastProblem(value);
  return problem === undefined ? value : refuse('INVALID_IPV4', path, `${what} ${text} ${problem}`);
}

/** `a.b.c.d` and its prefix, from the two fields or from `a.b.c.d/nn` in `address`. */
function addressAndPrefix(raw: z.output<typeof rawStaticIpv4Schema>): { text: string; prefixLength: number } {
  const slash = raw.address.indexOf('/');
  if (slash < 0) {
    if (raw.prefixLength === undefined)
      return refuse('INVALID_IPV4', 'prefixLength', 'give prefixLength, or the address as a.b.c.d/nn');
    return { text: raw.address, prefixLength: raw.prefixLength };
  }
  const prefix = raw.address.slice(slash + 1);
  if (!/^\d{1,2}$/.test(prefix))
    return refuse('INVALID_IPV4', 'address', 'address/prefix must end in /1 to /30');
  if (raw.prefixLength !== undefined && raw.prefixLength !== Number(prefix))
    refuse('INVALID_IPV4', 'prefixLength', 'prefixLength differs from the /nn in address');
  return { text: raw.address.slice(0, slash), prefixLength: Number(prefix) };
}

function judgeStaticIpv4(raw: z.output<typeof rawStaticIpv4Schema>): StaticIpv4 {
  const { text, prefixLength } = addressAndPrefix(raw);
  if (prefixLength < IPV4_PREFIX_MIN || prefixLength > IPV4_PREFIX_MAX)
    refuse('INVALID_IPV4', 'prefixLength', `prefixLength must be ${IPV4_PREFIX_MIN} to ${IPV4_PREFIX_MAX}`);
  const mask = prefixMask(prefixLength);
  const own = address('address', text);
  const network = (own & mask) >>> 0;
  const broadcast = (network | ~mask) >>> 0;
  const onLinkHost = (value: number): string | undefined => {
    if (!sameSubnet(value, own, mask)) return `is not in ${formatIpv4(network)}/${prefixLength}`;
    if (value === network) return `is the network's own address (${formatIpv4(network)}/${prefixLength})`;
    if (value === broadcast) return `is the broadcast address of ${formatIpv4(network)}/${prefixLength}`;
    return undefined;
  };
  const ownProblem = onLinkHost(own);
  if (ownProblem !== undefined) refuse('INVALID_IPV4', 'address', `address ${text} ${ownProblem}`);
  let gateway: string | undefined;
  if (raw.gateway !== undefined) {
    const value = address('gateway', raw.gateway);
    const problem = value === own ? 'is the address itself' : onLinkHost(value);
    if (problem !== undefined)
      refuse('INVALID_IPV4', 'gateway', `gateway ${raw.gateway} ${problem}: it must be on-link`);
    gateway = formatIpv4(value);
  }
  const dns = (raw.dns ?? []).map((d, i) => formatIpv4(address(['dns', i], d)));
  if (new Set(dns).size !== dns.length) refuse('INVALID_IPV4', 'dns', 'a DNS server is listed twice');
  return { address: formatIpv4(own), prefixLength, ...(gateway !== undefined ? { gateway } : {}), dns };
}

/** The `ipv4` block, normalised (address and prefix apart, `dns` always present). */
export const staticIpv4Schema = rawStaticIpv4Schema.transform((raw, ctx): StaticIpv4 => {
  if (ctx.issues.length > 0) return z.NEVER;
  return judged(ctx, () => judgeStaticIpv4(raw));
});
