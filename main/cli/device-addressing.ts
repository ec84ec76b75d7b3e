/**
 * Static IPv4 for a fleet. `--ipv4 ADDR/PREFIX` is one address for the network, so it serves a job
 * of one device: two devices with the same address break each other. A fleet gives each device its
 * own address in the manifest's `ipv4` column (`192.168.10.21/24`), with `--gateway` and `--dns`
 * for all of them; each is judged by the shared static-IPv4 schema, and no two may be the same.
 */
import { AirliftError } from '../../shared/errors';
import type { ManifestEntry } from '../../shared/manifest';
import type { NetworkInput } from '../../shared/protocol/network-input';
import { staticIpv4Schema, type StaticIpv4 } from '../../shared/protocol/static-ipv4';
import { targetIpv4Of, type TargetNetwork } from '../../shared/protocol/job';
import { parseOrThrow } from '../../shared/validate';
import { ipv4FromFlags, type NetworkOptions } from './network-options';

/** The manifest column that holds a device's own static address. */
export const MANIFEST_IPV4_COLUMN = 'ipv4';

type DeviceIpv4 = NonNullable<TargetNetwork['ipv4']>;

/** Each device's own static IPv4 by id (none: the network's addressing, DHCP or `--ipv4`). */
export function deviceAddressing(
  target: NetworkInput,
  entries: readonly ManifestEntry[],
  o: Pick<NetworkOptions, 'gateway' | 'dns'>,
): Map<string, DeviceIpv4> {
  const withColumn = entries.filter((e) => (e.extra[MANIFEST_IPV4_COLUMN] ?? '') !== '');
  const out = new Map<string, DeviceIpv4>();
  if (withColumn.length === 0) {
    if (target.ipv4 === undefined && (o.gateway !== undefined || o.dns !== undefined))
      throw new AirliftError(
        'INVALID_IPV4',
        `--gateway and --dns go with --ipv4 ADDR/PREFIX or the manifest's ${MANIFEST_IPV4_COLUMN} column`,
      );
    if (target.ipv4 !== undefined && entries.length > 1)
      throw new AirliftError(
        'INVALID_IPV4',
        `--ipv4 gives all ${entries.length} devices the same address: give each its own in the manifest's ${MANIFEST_IPV4_COLUMN} column`,
      );
    return out;
  }
  if (target.ipv4 !== undefined)
    throw new AirliftError(
      'INVALID_IPV4',
      `Give --ipv4 or the manifest's ${MANIFEST_IPV4_COLUMN} column, not both`,
    );
  const missing = entries.filter((e) => !withColumn.includes(e));
  if (missing.length > 0)
    throw new AirliftError(
      'INVALID_IPV4',
      `The manifest's ${MANIFEST_IPV4_COLUMN} column is empty for ${missing
        .slice(0, 5)
        .map((e) => e.deviceId)
        .join(', ')}${missing.length > 5 ? ', …' : ''}: every device of the job needs its address`,
    );
  const owner = new Map<string, string>();
  for (const e of withColumn) {
    const flags = ipv4FromFlags({ ...o, ipv4: e.extra[MANIFEST_IPV4_COLUMN] ?? '' });
    const ipv4: StaticIpv4 = parseOrThrow(staticIpv4Schema, flags, `ipv4 of ${e.deviceId}`);
    const other = owner.get(ipv4.address);
    if (other !== undefined)
      throw new AirliftError(
        'INVALID_IPV4',
        `${other} and ${e.deviceId} have the same address ${ipv4.address}`,
      );
    owner.set(ipv4.address, e.deviceId);
    out.set(e.deviceId, targetIpv4Of(ipv4));
  }
  return out;
}
