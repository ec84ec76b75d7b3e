/**
 * Station figures on the virtual fleet, measured in one run:
 * - AP path wall time against the radio floor — ⌈N/K⌉ setup-AP joins plus one return join, at a
 *   fixed join latency — for 1 and 3 adapters (aim ≤ 1.10 × floor);
 * - LAN path throughput for 200 devices already on the network (aim ≥ 50 devices/s).
 */
import { fixedTransport } from '../../main/ports/device-transport';
import { performance } from 'node:perf_hooks';
import { fromHex, toHex, utf8Encode } from '../../shared/encoding';
import { JobRunner } from '../../main/engine/job-runner';
import { DeviceSecrets } from '../../main/engine/secrets';
import { newJobSpec } from '../../main/engine/job-spec';
import type { JobOptions } from '../../main/engine/types';
import { LABNET, startFleet, type Fleet, type FleetOptions } from '../../lab/fleet';
import { RemoteFleet } from '../../lab/fleet-host';

export interface ApFigures {
  devices: number;
  adapters: number;
  joinMs: number;
  wallMs: number;
  floorMs: number;
  ratio: number;
  verified: number;
}

async function runJob(
  f: Fleet,
  options: Partial<JobOptions>,
  restore = true,
): Promise<{ wallMs: number; verified: number }> {
  const secrets = new DeviceSecrets();
  for (const e of f.manifest)
    secrets.set(e.deviceId, e.setupSecret, { salt: fromHex(e.salt), iterations: e.iter });
  const spec = newJobSpec({
    target: { ssidHex: toHex(utf8Encode(LABNET.ssid)), security: 'wpa2-psk', hidden: false, priority: 0 },
    devices: f.manifest.map((m) => ({ deviceId: m.deviceId })),
    options: { verifyTimeoutMs: 30_000, ...options },
  });
  const runner = new JobRunner(
    { adapters: f.adapters, browser: f.browser(), transport: f.transport, secrets, restoreNetworks: restore },
    { spec, credentials: { passphrase: LABNET.passphrase } },
  );
  const t0 = performance.now();
  const { summary } = await runner.run();
  return { wallMs: performance.now() - t0, verified: summary.verified };
}

export async function benchApPath(devices: number, adapters: number, joinMs = 2000): Promise<ApFigures> {
  const o: FleetOptions = {
    devices,
    adapters,
    timeScale: 1,
    // Fixed latencies (no jitter). A device's own join is shorter than the station's return, as a
    // device next to its access point is; restoring the technician's network is not timed.
    adapterLatency: { joinMs, scanMs: 1500, leaveMs: 0 },
    deviceLatency: { associateMs: 300, dhcpMs: 200, scanMs: 300, apStartMs: 300, apStopMs: 100, jitter: 0 },
  };
  const f = await startFleet(o);
  try {
    // Time the job up to the last verification: restore is the technician's own network, after.
    const { wallMs, verified } = await runJob(f, { path: 'ap', chunkSize: devices }, false);
    const floorMs = Math.ceil(devices / adapters) * joinMs + joinMs;
    return { devices, adapters, joinMs, wallMs, floorMs, ratio: wallMs / floorMs, verified };
  } finally {
    await f.close();
  }
}

export async function benchLanPath(
  devices = 200,
): Promise<{ devices: number; wallMs: number; perSecond: number; verified: number }> {
  // The devices run in a child process (the other core): 200 real devices have 200 CPUs and disks,
  // and the figure is the station's throughput, not the lab's.
  const fleet = await RemoteFleet.start(devices);
  try {
    const secrets = new DeviceSecrets();
    for (const d of fleet.devices)
      secrets.set(d.deviceId, d.setupSecret, { salt: fromHex(d.salt), iterations: d.iter });
    const spec = newJobSpec({
      target: { ssidHex: toHex(utf8Encode(LABNET.ssid)), security: 'wpa2-psk', hidden: false, priority: 0 },
      devices: fleet.devices.map((d) => ({ deviceId: d.deviceId })),
      options: {
        path: 'lan',
        concurrency: 32,
        mode: 'add',
        verifyTimeoutMs: 30_000,
      },
    });
    const runner = new JobRunner(
      { adapters: [], browser: fleet.browser, transport: fixedTransport(fleet.fetch()), secrets },
      { spec, credentials: { passphrase: LABNET.passphrase } },
    );
    const t0 = performance.now();
    const { summary } = await runner.run();
    const wallMs = performance.now() - t0;
    return { devices, wallMs, perSecond: (summary.verified / wallMs) * 1000, verified: summary.verified };
  } finally {
    await fleet.close();
  }
}
