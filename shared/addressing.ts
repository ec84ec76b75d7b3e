/**
 * The setup AP's subnet, derived from the deviceId (architecture.md "Addressing") so that a station
 * holding several setup APs at once never sees two devices at the same address.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8Encode } from './encoding';
import { deviceIdSchema } from './identity';
import { parseOrThrow } from './validate';

export interface SetupSubnet {
  network: string;
  prefixLength: 24;
  address: string;
  netmask: '255.255.255.0';
  dhcpRange: { start: string; end: string };
}

/**
 * `10.X.Y.0/24` with h = SHA-256(deviceId), X = 128 + h[0] mod 64, Y = h[1]: X stays within
 * 128..191, clear of 10.42/16 (NetworkManager's shared mode) and the low 10/8 that LANs favour.
 * The id is normalised first so `k7q2m6xa` and `K7Q2M6XA` land on the same subnet.
 */
export function setupSubnet(deviceId: string): SetupSubnet {
  const id = parseOrThrow(deviceIdSchema, deviceId, 'deviceId');
  const h = sha256(utf8Encode(id));
  const x = 128 + ((h[0] ?? 0) % 64);
  const y = h[1] ?? 0;
  const prefix = `10.${x}.${y}`;
  return {
    network: `${prefix}.0`,
    prefixLength: 24,
    address: `${prefix}.1`,
    netmask: '255.255.255.0',
    dhcpRange: { start: `${prefix}.10`, end: `${prefix}.250` },
  };
}
