import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setupSubnet } from '../../../shared/addressing';
import { base32Encode } from '../../../shared/identity';
import { expectAirliftError } from './expect-airlift';

/** Deterministic, distinct device ids: base32 of a 40-bit counter scrambled by a multiplier. */
function ids(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = (BigInt(i) * 0x9e3779b97fn) & 0xffffffffffn;
    const bytes = Uint8Array.from({ length: 5 }, (_, k) => Number((n >> BigInt(8 * (4 - k))) & 0xffn));
    return base32Encode(bytes);
  });
}

describe('setupSubnet', () => {
  it('follows architecture.md, checked against node:crypto', () => {
    const h = createHash('sha256').update('K7Q2M6XA', 'ascii').digest();
    const prefix = `10.${128 + ((h[0] ?? 0) % 64)}.${h[1] ?? 0}`;
    expect(setupSubnet('K7Q2M6XA')).toEqual({
      network: `${prefix}.0`,
      prefixLength: 24,
      address: `${prefix}.1`,
      netmask: '255.255.255.0',
      dhcpRange: { start: `${prefix}.10`, end: `${prefix}.250` },
    });
  });

  it('does not depend on how the id was typed', () => {
    expect(setupSubnet(' k7q2m6xa ')).toEqual(setupSubnet('K7Q2M6XA'));
  });

  it('refuses an invalid id', () => {
    expectAirliftError(() => setupSubnet('nope'), 'INVALID_DEVICE_ID');
  });

  it('never lands in 10.42/16 and always in 10.128.0.0/10', () => {
    const wrong = ids(5000)
      .map((id) => ({ id, subnet: setupSubnet(id) }))
      .filter(({ subnet }) => {
        const [a, b, c, d] = subnet.network.split('.').map(Number);
        return (
          a !== 10 ||
          b === 42 ||
          b === undefined ||
          b < 128 ||
          b > 191 ||
          c === undefined ||
          c < 0 ||
          c > 255 ||
          d !== 0 ||
          subnet.address !== `10.${b}.${c}.1`
        );
      });
    expect(wrong).toEqual([]);
  });

  it('spreads ids over the 16,384 subnets', () => {
    const sample = ids(1000);
    const networks = new Set(sample.map((id) => setupSubnet(id).network));
    // Birthday bound: about 30 collisions expected among 1000 ids, so >= 950 distinct is generous.
    expect(networks.size).toBeGreaterThanOrEqual(950);
    const secondOctets = new Set(ids(5000).map((id) => setupSubnet(id).network.split('.')[1]));
    expect(secondOctets.size).toBe(64);
  });
});
