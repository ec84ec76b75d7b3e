/**
 * The `.local` name the portal and `/v1/status` promise: the agent hands the advertiser the address
 * of the link carrying traffic whenever it changes, so an advertiser that must publish the name
 * itself (Avahi: its own host name is the OS's) keeps `airlift-<id>.local` pointing at the device.
 * The real avahi-daemon side is test/integration/mdns/avahi-hostname-netns.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Advertisement, AdvertiserPort } from '../../../agent/ports/advertiser';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';
import { LAB_ID, LAB_SECRET, LABNET_HEX, waitFor } from '../../helpers/lab';

class RecordingAdvertiser implements AdvertiserPort {
  readonly kind = 'sim' as const;
  started?: Advertisement;
  readonly addresses: string[][] = [];
  start(ad: Advertisement): Promise<void> {
    this.started = ad;
    return Promise.resolve();
  }
  updateTxt(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  updateAddresses(addresses: readonly string[]): void {
    this.addresses.push([...addresses]);
  }
}

let device: LabDevice | undefined;
afterEach(async () => {
  await device?.close();
  device = undefined;
});

describe('the device name follows the address', () => {
  it('publishes the promised name for the lease it gets, and withdraws it when the device leaves', async () => {
    const ad = new RecordingAdvertiser();
    device = await startLabDevice({
      deviceId: LAB_ID,
      setupSecret: LAB_SECRET,
      timeScale: 0,
      advertiser: ad,
    });
    const agent = device.running.agent;
    expect(ad.started?.hostname).toBe('airlift-k7q2m6xa');
    expect(agent.status().hostname).toBe('airlift-k7q2m6xa');
    await agent.setWifi({
      networks: [
        {
          ssidHex: LABNET_HEX,
          security: 'wpa2-psk',
          passphrase: 'correct horse',
          hidden: false,
          priority: 0,
        },
      ],
      mode: 'replace',
      commit: 'auto',
      failsafeSeconds: 300,
      apply: 'now',
    });
    const online = await waitFor(
      () => agent.status(),
      (s) => s.state === 'online' && s.ip !== undefined,
      'online',
    );
    expect(ad.addresses.at(-1)).toEqual([online.ip]);
    await agent.forgetAll();
    await waitFor(
      () => agent.state,
      (s) => s === 'setup',
      'setup',
    );
    expect(ad.addresses.at(-1)).toEqual([]);
  });
});
