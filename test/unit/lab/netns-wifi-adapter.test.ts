/**
 * The network lab's station adapter and Enterprise networks: its airspace cannot carry 802.1X, so
 * the adapter says it does not join them (the job verifies from the lane's own network, decision
 * 0012) and refuses such a join with UNSUPPORTED_SECURITY before it touches the air or runs a
 * command, instead of associating without 802.1X.
 */
import { describe, expect, it } from 'vitest';
import { NETNS_NO_ENTERPRISE, NetnsWifiAdapter, ProfileStore } from '../../../lab/netns-wifi-adapter';
import type { CommandRunner } from '../../../platform/commands';
import { PKI } from '../../fixtures/pki/pki';

function adapter() {
  const ran: string[] = [];
  const runner = {
    run: (cmd: string, args: string[]) => {
      ran.push([cmd, ...args].join(' '));
      return Promise.resolve({ code: 0, stdout: '', stderr: '', timedOut: false });
    },
  } as unknown as CommandRunner;
  const a = new NetnsWifiAdapter({
    airSocket: '/nonexistent/airlift-air.sock',
    ifname: 'wlan0',
    index: 0,
    runner,
    profiles: new ProfileStore('/nonexistent/profiles.json'),
  });
  return { a, ran };
}

describe('the network lab’s station adapter and Enterprise networks', () => {
  it('says it cannot join them, and why', () => {
    expect(adapter().a.enterprise).toEqual({ join: false, why: NETNS_NO_ENTERPRISE });
  });

  it('refuses an Enterprise join with UNSUPPORTED_SECURITY, touching neither the air nor a command', async () => {
    for (const security of ['wpa2-enterprise', 'wpa3-enterprise'] as const) {
      const { a, ran } = adapter();
      await expect(
        a.join({
          ssidHex: '486f73706974616c',
          security,
          eap: {
            method: 'peap',
            identity: 'jane.doe@hospital.example',
            password: 'secret',
            caCert: PKI.ca,
          },
          timeoutMs: 1_000,
        }),
      ).rejects.toMatchObject({
        code: 'UNSUPPORTED_SECURITY',
        message: expect.stringContaining('802.1X') as unknown,
      });
      expect(ran).toEqual([]);
    }
  });

  it('a WPA2 join goes on to the air (here: no airspace controller, so it fails otherwise)', async () => {
    const { a } = adapter();
    const err = await a
      .join({ ssidHex: '4c61624e6574', security: 'wpa2-psk', passphrase: 'correct horse', timeoutMs: 1_000 })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
    expect(err?.code).not.toBe('UNSUPPORTED_SECURITY');
  });
});
