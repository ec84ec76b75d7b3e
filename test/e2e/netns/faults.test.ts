/**
 * The network lab's faults, each on real networking with only the radio simulated, each device
 * ending with the right result and nothing pushed twice (one journaled push, one attempt on the
 * device, at most):
 *
 * - wrong passphrase: the device hears LabNet only from another floor's AP with another key; the
 *   handshake fails, the reason (`auth_failed`) reaches the report through the rescue, the device is
 *   back in setup with the network it knew before still stored;
 * - SSID out of range: the device does not hear LabNet; the link check stops it before any push;
 * - device rebooted mid-apply: every process of the device killed while it associates with LabNet,
 *   the agent started again from its state — it reverts the cut-short trial (`interrupted`);
 * - setup AP flapping: the AP's carrier drops and returns while the station works on it; the device
 *   is verified, pushed once;
 * - DHCP server down on the LAN: the device (and the station's return) get no lease; `dhcp_timeout`
 *   read from the device's setup AP; the technician's network restored;
 * - station killed mid-job (SIGKILL) and `airlift resume`d: the pushed device is verified without a
 *   second push, the rest pushed once;
 * - client isolation on LabNet: mDNS does not cross between clients while unicast does (through
 *   the router); the AP+STA device, which reported its address on its setup AP, is probed there by
 *   unicast and verified, saying so; the other reported none and stays not_rediscovered.
 *
 * Needs root and the network lab's Debian packages (see fleet.test.ts). About 4 minutes.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNetnsBundles } from '../../../lab/netns-build';
import { LABNET, LAN_PORT, NetnsFleet, WORKSHOP, type NetnsDevice } from '../../../lab/netns-fleet';
import { ssidHexOf } from '../../../lab/airspace';
import { LAB_TOOLS } from '../../../lab/netns-tools';
import {
  jobIdOf,
  netnsLabSkipReason,
  pushesByDevice,
  readJournal,
  stationReport,
  type Report,
} from './helpers';

const skipReason = await netnsLabSkipReason(LAB_TOOLS);
if (skipReason) console.warn(`SKIPPING the network lab's fault tests: ${skipReason}`);

describe.skipIf(skipReason !== '')(
  `network lab: faults${skipReason ? ` (SKIPPED: ${skipReason})` : ''}`,
  () => {
    let fleet: NetnsFleet;
    const dev = (name: string): NetnsDevice => {
      const d = fleet.devices[ROLES.indexOf(name as (typeof ROLES)[number])];
      if (!d) throw new Error(`no device ${name}`);
      return d;
    };
    const ROLES = [
      'healthy',
      'wrongKey',
      'outOfRange',
      'rebooted',
      'flapping',
      'dhcpDown',
      'resumeA',
      'resumeB',
      'isolatedApSta',
      'isolated',
    ] as const;

    /** Run `airlift provision` for some devices; the report and the journal's pushes. */
    async function job(
      names: string[],
      o: { verifyTimeoutS?: number; extra?: string[]; passphraseFile?: string } = {},
    ): Promise<{ code: number; report: Report; pushes: Map<string, number>; jobId: string }> {
      const run = fleet.station([
        ...fleet.provisionArgs({
          verifyTimeoutS: o.verifyTimeoutS ?? 20,
          devices: names.map((n) => dev(n).deviceId),
        }),
        ...(o.extra ?? []),
        '--json',
      ]);
      const code = await run.done;
      const jobId = jobIdOf(run) ?? '';
      expect(jobId, run.proc.stderr).not.toBe('');
      return {
        code,
        report: await stationReport(fleet, jobId),
        pushes: pushesByDevice(await readJournal(fleet, jobId)),
        jobId,
      };
    }
    const outcome = (report: Report, name: string) => report.devices.find((d) => d.id === dev(name).deviceId);

    let bundleDir: string | undefined;

    beforeAll(async () => {
      bundleDir = await buildNetnsBundles();
      fleet = await NetnsFleet.create({
        devices: [
          {},
          { fault: 'wrong_password', previous: { ssid: 'Warehouse', passphrase: 'warehouse key' } },
          { fault: 'out_of_range' },
          {},
          {},
          {},
          {},
          {},
          { apSta: true },
          {},
        ],
        adapters: 2,
        bundleDir,
        timeScale: 0.1,
        progress: (m) => console.log(`[lab] ${m}`),
      });
      await fleet.connectStationToWorkshop();
    }, 180_000);

    afterAll(async () => {
      await fleet.destroy();
      if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
      expect(fleet.leftovers()).toBe(0);
    }, 60_000);

    it('wrong passphrase, SSID out of range, a reboot mid-apply and a flapping AP: each ends right, pushed at most once', async () => {
      const rebooted = dev('rebooted');
      const flapping = dev('flapping');
      const flappingSsid = ssidHexOf(`Airlift-${flapping.deviceId}`);
      let rebootedAt = 0;
      let flaps: Promise<void> | undefined;
      fleet.air.onAssociate = async (observer, ssidHex) => {
        // Mid-apply: the device answered wifi.set, took its AP down and is associating with LabNet.
        if (observer === rebooted.deviceId && ssidHex === ssidHexOf(LABNET.ssid) && rebootedAt === 0) {
          rebootedAt = Date.now();
          await fleet.powerCut(rebooted);
          setTimeout(() => void fleet.powerOn(rebooted), 500);
          return false;
        }
        // The station is joining the flapping device's AP: its carrier drops six times from now on.
        if (observer.startsWith('station-') && ssidHex === flappingSsid && !flaps)
          flaps = fleet.air.flap(flapping.deviceId, { downMs: 300, upMs: 700, cycles: 6 });
        return undefined;
      };
      const { report, pushes } = await job(['healthy', 'wrongKey', 'outOfRange', 'rebooted', 'flapping'], {
        verifyTimeoutS: 20,
      });
      fleet.air.onAssociate = undefined;
      await flaps;
      expect(rebootedAt, 'the reboot fault fired').toBeGreaterThan(0);
      expect(flaps, 'the flapping fault fired').toBeDefined();
      const summary = Object.fromEntries(report.devices.map((d) => [d.id, [d.result, d.reason]]));
      expect(summary).toEqual({
        [dev('healthy').deviceId]: ['verified', undefined],
        [dev('wrongKey').deviceId]: ['failed', 'auth_failed'],
        [dev('outOfRange').deviceId]: ['failed', 'target_not_seen'],
        [rebooted.deviceId]: ['failed', 'interrupted'],
        [flapping.deviceId]: ['verified', undefined],
      });
      // Nothing pushed twice; the out-of-range device not at all.
      expect(Object.fromEntries(pushes)).toEqual({
        [dev('healthy').deviceId]: 1,
        [dev('wrongKey').deviceId]: 1,
        [rebooted.deviceId]: 1,
        [flapping.deviceId]: 1,
      });
      for (const name of ['healthy', 'wrongKey', 'rebooted', 'flapping'])
        expect(new Set(fleet.attemptsOf(dev(name)).map((a) => a.id)).size, name).toBe(1);
      expect(fleet.attemptsOf(dev('outOfRange'))).toEqual([]);
      expect(rebooted.boots).toBe(2);

      // The wrong key: the reason came from the device, which is back in setup with Warehouse kept.
      const wrong = dev('wrongKey');
      expect(outcome(report, 'wrongKey')?.detail).toContain('reported by the device');
      expect(fleet.stateOf(wrong)).toBe('setup');
      const kept = (await fleet.readState(wrong, 'networks.json')) as {
        networks: { ssidHex: string }[];
        pending?: unknown;
      };
      expect(kept.networks.map((n) => n.ssidHex)).toEqual([ssidHexOf('Warehouse')]);
      expect(kept.pending).toBeUndefined();
      expect((await fleet.statusOf(wrong)).lastAttempt).toMatchObject({
        result: 'failed',
        reason: 'auth_failed',
      });
      // The reboot: the cut-short trial was reverted at boot, setup reopened.
      expect(fleet.stateOf(rebooted)).toBe('setup');
      expect((await fleet.statusOf(rebooted)).lastAttempt).toMatchObject({
        result: 'failed',
        reason: 'interrupted',
      });
      expect(fleet.stationNetworks()).toEqual([WORKSHOP.ssid, WORKSHOP.ssid]);
    }, 240_000);

    it('DHCP server down on the LAN: dhcp_timeout from the device, the station back on Workshop', async () => {
      await fleet.stopDhcp();
      let result;
      try {
        result = await job(['dhcpDown'], { verifyTimeoutS: 15, extra: ['--adapter', 'wlan0'] });
      } finally {
        await fleet.startDhcp();
      }
      const o = outcome(result.report, 'dhcpDown');
      expect([o?.result, o?.reason]).toEqual(['failed', 'dhcp_timeout']);
      expect(o?.detail).toContain('reported by the device');
      expect(Object.fromEntries(result.pushes)).toEqual({ [dev('dhcpDown').deviceId]: 1 });
      expect(fleet.stateOf(dev('dhcpDown'))).toBe('setup');
      expect(fleet.stationNetworks()[0]).toBe(WORKSHOP.ssid);
    }, 240_000);

    it('station killed mid-job, then resumed: every device verified, nothing pushed twice', async () => {
      const a = dev('resumeA');
      const b = dev('resumeB');
      const run = fleet.station([
        ...fleet.provisionArgs({ verifyTimeoutS: 30, devices: [a.deviceId, b.deviceId] }),
        '--adapter',
        'wlan0',
        '--json',
      ]);
      // Killed (SIGKILL: no cleanup) the moment the first device's push is journaled.
      await run.proc.waitFor(
        'a pushed device',
        (e) => e.ev === 'device-step' && e['step'] === 'pushed',
        120_000,
      );
      run.proc.child.kill('SIGKILL');
      expect(await run.done).not.toBe(0);
      const jobId = jobIdOf(run) ?? '';
      const pushedFirst = run.proc.events
        .filter((e) => e.ev === 'device-step' && e['step'] === 'pushed')
        .map((e) => e['deviceId']);
      expect(pushedFirst).toHaveLength(1);

      const resumed = fleet.station(['resume', jobId, '--passphrase-file', fleet.passphrasePath, '--json']);
      const resumedCode = await resumed.done;
      const report = await stationReport(fleet, jobId);
      expect(resumedCode, `${resumed.proc.stderr}\n${JSON.stringify(report.devices, null, 1)}`).toBe(0);
      expect(report.devices.map((d) => [d.id, d.result])).toEqual([
        [a.deviceId, 'verified'],
        [b.deviceId, 'verified'],
      ]);
      expect(Object.fromEntries(pushesByDevice(await readJournal(fleet, jobId)))).toEqual({
        [a.deviceId]: 1,
        [b.deviceId]: 1,
      });
      for (const d of [a, b]) {
        expect(new Set(fleet.attemptsOf(d).map((x) => x.id)).size).toBe(1);
        expect(fleet.stateOf(d)).toBe('online');
      }
    }, 240_000);

    describe('client isolation on LabNet', () => {
      let result: Awaited<ReturnType<typeof job>>;

      it('keeps mDNS from crossing between clients while unicast crosses through the router', async () => {
        await fleet.isolateLan(true);
        result = await job(['isolatedApSta', 'isolated'], {
          verifyTimeoutS: 15,
          extra: ['--adapter', 'wlan0'],
        });
        const d = dev('isolatedApSta');
        // The device joined LabNet and reported where it went (on its AP: AP+STA); the station
        // confirmed it there by unicast (below), so it is committed.
        const status = await fleet.statusOf(d);
        expect(status.state).toBe('online');
        const ip = status.ip ?? '';
        expect(ip).toMatch(/^192\.168\.50\./);
        expect(status.lastAttempt).toMatchObject({ result: 'ok', ip });
        // The station, on LabNet itself, reaches that address by unicast (the router hairpins it) ...
        await fleet.connectStation('wlan0', LABNET);
        const info = await fleet.exec(fleet.stationNs, 'curl', [
          '-s',
          '-m',
          '5',
          `http://${ip}:${LAN_PORT}/v1/status`,
        ]);
        expect(JSON.parse(info.stdout || '{}')).toMatchObject({
          state: 'online',
          pv: result.report.job.nonce8,
        });
        // ... while no mDNS answer from any device crosses to it.
        const discover = fleet.station(['discover', '--json', '--seconds', '3', '--adapter', 'wlan1']);
        expect(await discover.done).toBe(0);
        const { devices } = JSON.parse(discover.proc.text.join('\n')) as {
          devices: { id: string; lan?: unknown }[];
        };
        expect(devices.filter((x) => x.lan !== undefined)).toEqual([]);
        // Both devices were pushed once. Neither was seen again over mDNS: the AP+STA one was
        // verified by unicast (next test); the other never said where it went (its AP was down by
        // then), so nothing could be probed, and it is still on trial on LabNet.
        expect(Object.fromEntries(result.pushes)).toEqual({
          [d.deviceId]: 1,
          [dev('isolated').deviceId]: 1,
        });
        const lost = outcome(result.report, 'isolated');
        expect([lost?.result, lost?.reason]).toEqual(['failed', 'not_rediscovered']);
        expect(lost?.detail).toBe('neither on the target network nor in setup mode');
        expect(lost?.ip).toBeUndefined();
        expect((await fleet.statusOf(dev('isolated'))).state).toBe('failsafe');
        // The same browser sees both once the isolation is lifted: the silence above was the isolation.
        await fleet.isolateLan(false);
        const open = fleet.station(['discover', '--json', '--seconds', '4', '--adapter', 'wlan1']);
        expect(await open.done).toBe(0);
        const seen = (
          JSON.parse(open.proc.text.join('\n')) as { devices: { id: string; lan?: { state: string } }[] }
        ).devices;
        for (const [name, state] of [
          ['isolatedApSta', 'online'],
          ['isolated', 'failsafe'],
        ] as const)
          expect(seen.find((x) => x.id === dev(name).deviceId)?.lan, name).toMatchObject({ state });
      }, 240_000);

      /*
       * When a pushed device does not reappear over mDNS, the station probes the LAN address the
       * device reported on its setup AP (`lastAttempt.ip`, read for AP+STA devices) by unicast
       * (GET /v1/status: its id, `pv` = the job's nonce, failsafe|online), confirms it there, and
       * says so in the outcome's detail (main/engine/rediscovery.ts).
       */
      it('falls back to the address the device reported and a unicast probe, and says so', () => {
        const o = outcome(result.report, 'isolatedApSta');
        expect(o?.result).toBe('verified');
        expect(o?.ip).toMatch(/^192\.168\.50\./);
        expect(o?.detail ?? '').toContain(`verified by unicast at ${o?.ip ?? ''}`);
        expect(o?.detail ?? '').toContain('mDNS');
      });
    });
  },
);
