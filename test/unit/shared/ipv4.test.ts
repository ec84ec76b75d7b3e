import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv4, isIpv4, parseIpv4, prefixMask, prefixToNetmask, sameSubnet } from '../../../shared/ipv4';

describe('IPv4 helpers', () => {
  it('parses dotted quads and nothing else', () => {
    expect(parseIpv4('10.131.7.1')).toBe(0x0a830701);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('0.0.0.0')).toBe(0);
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3.-4',
      '::1',
      '1.2.3.4 ',
      'a.b.c.d',
    ]) {
      expect(parseIpv4(bad), bad).toBeUndefined();
      expect(isIpv4(bad), bad).toBe(false);
    }
  });

  it('formats what it parses (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const n = parseIpv4(ip);
        expect(n).toBeDefined();
        expect(formatIpv4(n ?? -1)).toBe(ip);
      }),
    );
  });

  it('turns prefix lengths 0..32 into masks and refuses anything else', () => {
    expect(prefixToNetmask(0)).toBe('0.0.0.0');
    expect(prefixToNetmask(8)).toBe('255.0.0.0');
    expect(prefixToNetmask(20)).toBe('255.255.240.0');
    expect(prefixToNetmask(24)).toBe('255.255.255.0');
    expect(prefixToNetmask(32)).toBe('255.255.255.255');
    expect([0, 8, 22, 24, 31, 32].map(prefixToNetmask)).toEqual([
      '0.0.0.0',
      '255.0.0.0',
      '255.255.252.0',
      '255.255.255.0',
      '255.255.255.254',
      '255.255.255.255',
    ]);
    expect(prefixMask(24)).toBe(0xffffff00);
    for (const bad of [-1, 33, 24.5, Number.NaN]) expect(() => prefixToNetmask(bad)).toThrow(RangeError);
  });

  it('tells whether two addresses share a subnet', () => {
    const a = parseIpv4('10.131.7.1') ?? 0;
    expect(sameSubnet(a, parseIpv4('10.131.7.200') ?? 0, prefixMask(24))).toBe(true);
    expect(sameSubnet(a, parseIpv4('10.131.8.1') ?? 0, prefixMask(24))).toBe(false);
    expect(sameSubnet(a, parseIpv4('10.131.8.1') ?? 0, prefixMask(16))).toBe(true);
    expect(sameSubnet(a, parseIpv4('192.168.1.1') ?? 0, prefixMask(0))).toBe(true);
  });
});
