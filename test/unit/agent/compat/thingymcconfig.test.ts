import { describe, expect, it } from 'vitest';
import { fromSetupAp } from '../../../../agent/compat/thingymcconfig';

const ap = { address: '10.131.7.1', prefixLength: 24 };
const sock = (localAddress: string | undefined, remoteAddress: string | undefined) => ({
  localAddress,
  remoteAddress,
});

describe('fromSetupAp', () => {
  it('serves a connection made to the AP address from the AP subnet, dual-stack form included', () => {
    expect(fromSetupAp(sock('10.131.7.1', '10.131.7.23'), ap)).toBe(true);
    expect(fromSetupAp(sock('::ffff:10.131.7.1', '::FFFF:10.131.7.250'), ap)).toBe(true);
  });

  it('refuses other subnets, other local addresses, IPv6, garbage and no AP', () => {
    expect(fromSetupAp(sock('10.131.7.1', '10.131.8.23'), ap)).toBe(false);
    expect(fromSetupAp(sock('192.168.1.5', '10.131.7.23'), ap)).toBe(false);
    expect(fromSetupAp(sock('10.131.7.1', 'fe80::1'), ap)).toBe(false);
    expect(fromSetupAp(sock('10.131.7.1', '10.131.7.256'), ap)).toBe(false);
    expect(fromSetupAp(sock(undefined, '10.131.7.23'), ap)).toBe(false);
    expect(fromSetupAp(sock('10.131.7.1', '10.131.7.23'), undefined)).toBe(false);
  });

  it('follows the prefix length', () => {
    const wide = { address: '10.131.7.1', prefixLength: 16 };
    expect(fromSetupAp(sock('10.131.7.1', '10.131.200.9'), wide)).toBe(true);
    expect(fromSetupAp(sock('10.131.7.1', '10.132.0.9'), wide)).toBe(false);
    expect(fromSetupAp(sock('10.131.7.1', '10.131.7.129'), { ...ap, prefixLength: 25 })).toBe(false);
  });
});
