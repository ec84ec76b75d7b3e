/**
 * `npm run demo`: the main job on a virtual fleet. Real agents (core, session, HTTP) on sim radios,
 * the real station engine on sim Wi-Fi adapters: discover the setup APs, push credentials over
 * SPAKE2+ sessions, return to the target network, verify every device over mDNS, confirm it, and
 * print the report. Exit 0 when every device without an injected fault is verified.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { fromHex, toHex, utf8Encode } from '../shared/encoding';
import { DeviceSecrets } from '../main/engine/secrets';
import { JobRunner } from '../main/engine/job-runner';
import { newJobSpec } from '../main/engine/job-spec';
import { JobJournal } from '../main/engine/journal';
import { buildReport, formatSummaryTable } from '../main/engine/report';
import { JobProgress } from '../main/cli/progress';
import { LABNET, startFleet, type InjectedFault } from './fleet';

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 500)
    throw new InvalidArgumentError('a whole number from 1 to 500');
  return n;
};
const scale = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 10) throw new InvalidArgumentError('a number from 0 to 10');
  return n;
};

async function main(): Promise<number> {
  const program = new Command('demo')
    .description('Provision a virtual fleet with the real engine and the real agents')
    .option('--devices <n>', 'healthy devices in setup mode', positive, 12)
    .option('--adapters <k>', "the station's Wi-Fi adapters (lanes)", positive, 2)
    .option('--faults', 'add a wrong-password device, an out-of-range device and a DHCP failure')
    .option('--lan', 'devices are already on the network: provision over the LAN path')
    .option('--ap-sta', 'devices keep their setup AP up while joining (they report the result on it)')
    .option('--time-scale <x>', 'multiply every radio latency (1 = realistic, 0 = instant)', scale, 0.25)
    .option('--json', 'print the report as JSON on stdout (progress goes to stderr)');
  program.parse();
  const o = program.opts<{
    devices: number;
    adapters: number;
    faults?: boolean;
    lan?: boolean;
    apSta?: boolean;
    timeScale: number;
    json?: boolean;
  }>();

  const faults: InjectedFault[] = o.faults ? ['wrong_password', 'out_of_range', 'dhcp_failure'] : [];
  const say = (text: string) => (o.json ? process.stderr : process.stdout).write(text);
  say(
    `Airlift demo: ${o.devices} devices${faults.length ? ` + ${faults.length} with injected faults` : ''}, ` +
      `${o.adapters} adapter${o.adapters > 1 ? 's' : ''}, ${o.lan ? 'LAN path' : 'setup-AP path'}, radio time ×${o.timeScale}\n`,
  );
  say('Starting the virtual fleet (real agents on simulated radios)…\n');
  const fleet = await startFleet({
    devices: o.devices,
    adapters: o.adapters,
    faults,
    timeScale: o.timeScale,
    onLan: o.lan === true,
    apSta: o.apSta === true,
  });
  const jobsDir = await mkdtemp(join(tmpdir(), 'airlift-demo-jobs-'));
  try {
    const secrets = new DeviceSecrets();
    for (const e of fleet.manifest)
      secrets.set(e.deviceId, e.setupSecret, { salt: fromHex(e.salt), iterations: e.iter });
    const spec = newJobSpec({
      target: { ssidHex: toHex(utf8Encode(LABNET.ssid)), security: 'wpa2-psk', hidden: false, priority: 0 },
      devices: fleet.manifest.map((m) => ({
        deviceId: m.deviceId,
        ...(m.name ? { name: m.name } : {}),
        ...(m.group ? { group: m.group } : {}),
      })),
      options: {
        path: o.lan ? 'lan' : 'ap',
        // Scaled radio time: a device's own join and DHCP give-up take this long at most.
        verifyTimeoutMs: Math.max(3_000, 25_000 * o.timeScale),
        joinTimeoutMs: 30_000,
        minSignal: -80,
      },
    });
    const journal = await JobJournal.create(jobsDir, spec);
    const progress = new JobProgress(
      { write: (t) => say(t) },
      o.json ? 'plain' : process.stdout.isTTY ? 'tty' : 'plain',
    );
    const runner = new JobRunner(
      {
        adapters: fleet.adapters,
        browser: fleet.browser(),
        transport: fleet.transport,
        secrets,
        journal,
        onEvent: (e) => progress.handle(e),
      },
      { spec, credentials: { passphrase: LABNET.passphrase } },
    );
    const started = Date.now();
    const { outcomes } = await runner.run();
    await journal.close();
    const report = buildReport(spec, outcomes, { finishedAt: new Date().toISOString() });
    if (o.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      say(`\n${formatSummaryTable(report, { color: process.stdout.isTTY })}\n`);
      const back = await fleet.adapters[0]?.current();
      say(
        `Finished in ${((Date.now() - started) / 1000).toFixed(1)} s; this computer is back on ${back?.ssid ?? 'no network'}.\n`,
      );
    }
    const faulty = new Set(fleet.devices.filter((d) => d.fault).map((d) => d.entry.deviceId));
    const healthyOk = outcomes.filter((x) => !faulty.has(x.deviceId)).every((x) => x.result === 'verified');
    return healthyOk ? 0 : 1;
  } finally {
    await fleet.close();
    await rm(jobsDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
