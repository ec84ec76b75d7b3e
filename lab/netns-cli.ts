/**
 * `npm run lab:netns -- --devices N [--adapters K] [--faults] [--json]` (root): the main job on the
 * network lab — every device a real agent process in its own namespace, the station the real
 * `airlift` CLI in another, a router serving the target LAN with dnsmasq, the technician's own
 * network, and only the radio simulated (lab/netns-fleet.ts). Prints what `npm run demo` prints:
 * the CLI's progress and table, or with --json the report (`airlift report <job> --json`) on stdout
 * with progress on stderr. Exit 0 when every device without an injected fault is verified.
 *
 * Everything it creates is named `al-<pid>-…` and removed at the end, on Ctrl-C and on SIGTERM;
 * what a crashed run left behind is swept at the start.
 */
import { rm } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { ensurePackages, LAB_TOOLS } from './netns-tools';
import { buildNetnsBundles } from './netns-build';
import { NetnsFleet, type NetnsDeviceSpec, type NetnsFault } from './netns-fleet';

const count = (max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidArgumentError(`a whole number from 1 to ${max}`);
  return n;
};
const scale = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 10) throw new InvalidArgumentError('a number from 0 to 10');
  return n;
};

/** Where the station's adapters are, one network once with its adapters: "Workshop (wlan0, wlan1)". */
function describeStationNetworks(fleet: NetnsFleet): string {
  const byNetwork = new Map<string, string[]>();
  fleet.stationNetworks().forEach((ssid, k) => {
    const key = ssid ?? 'no network';
    byNetwork.set(key, [...(byNetwork.get(key) ?? []), fleet.adapters[k] ?? `adapter ${k}`]);
  });
  return [...byNetwork].map(([ssid, ifs]) => `${ssid} (${ifs.join(', ')})`).join('; ');
}

async function main(): Promise<number> {
  const program = new Command('lab:netns')
    .description('Provision a fleet of real agents in network namespaces with the real station CLI')
    .option('--devices <n>', 'healthy devices in setup mode', count(250), 8)
    .option('--adapters <k>', "the station's Wi-Fi adapters (lanes)", count(8), 2)
    .option('--faults', 'add a wrong-password device, an out-of-range device and a DHCP failure')
    .option('--lan', 'devices are on the LAN already: provision over the LAN path')
    .option('--ap-sta', 'devices keep their setup AP up while joining (AP+STA)')
    .option('--time-scale <x>', 'multiply every radio latency (1 = realistic)', scale, 0.25)
    .option('--json', 'print the report as JSON on stdout (progress goes to stderr)')
    .option('--bundle-dir <dir>', 'use these built lab bundles (default: build them now)');
  program.parse();
  const o = program.opts<{
    devices: number;
    adapters: number;
    faults?: boolean;
    lan?: boolean;
    apSta?: boolean;
    timeScale: number;
    json?: boolean;
    bundleDir?: string;
  }>();
  const say = (text: string) => process.stderr.write(`${text}\n`);
  if (process.getuid?.() !== 0) {
    say(
      'lab:netns needs root (network namespaces, veths, bridges): run it as root, e.g. sudo npm run lab:netns',
    );
    return 3;
  }
  const missing = await ensurePackages(LAB_TOOLS, say);
  if (missing.length > 0) {
    say(`missing Debian packages: ${missing.join(' ')} (apt-get install -y ${missing.join(' ')})`);
    return 3;
  }
  const faults: NetnsFault[] = o.faults ? ['wrong_password', 'out_of_range', 'dhcp_failure'] : [];
  const devices: NetnsDeviceSpec[] = [
    ...Array.from({ length: o.devices }, () => ({ apSta: o.apSta === true, onLan: o.lan === true })),
    ...faults.map((fault) => ({ fault, apSta: o.apSta === true, onLan: false })),
  ];
  say(
    `Airlift network lab: ${o.devices} devices${faults.length ? ` + ${faults.length} with injected faults` : ''}, ` +
      `${o.adapters} adapter${o.adapters > 1 ? 's' : ''}, ${o.lan ? 'LAN path' : 'setup-AP path'}, radio time ×${o.timeScale}`,
  );
  say('Building the lab bundles (agent and station)…');
  const bundleDir = o.bundleDir ?? (await buildNetnsBundles());
  const lab: { fleet?: NetnsFleet } = {};
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: tearing the lab down…`);
    void (lab.fleet?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const started = Date.now();
  const fleet = await NetnsFleet.create({
    devices,
    adapters: o.adapters,
    bundleDir,
    timeScale: o.timeScale,
    progress: say,
  });
  lab.fleet = fleet;
  try {
    say(
      `Lab up in ${((Date.now() - started) / 1000).toFixed(1)} s; the station joins its own network (Workshop)…`,
    );
    await fleet.connectStationToWorkshop();
    const verify = Math.max(15, Math.round(40 * o.timeScale));
    const args = [
      ...fleet.provisionArgs({ lan: o.lan === true, verifyTimeoutS: verify }),
      ...(o.json ? ['--json'] : []),
    ];
    say(`$ airlift ${args.join(' ')}`);
    let jobId: string | undefined;
    const run = fleet.station(args, {
      onLine: (line) => {
        if (!o.json) {
          process.stdout.write(`${line}\n`);
          jobId ??= /^Job (\S+): airlift report/.exec(line)?.[1];
          return;
        }
        try {
          const e = JSON.parse(line) as {
            type?: string;
            jobId?: string;
            deviceId?: string;
            step?: string;
            phase?: string;
          };
          jobId ??= e.jobId;
          if (e.type === 'phase') say(`  phase ${e.phase ?? ''}`);
          else if (e.type === 'device-result')
            say(`  ${JSON.stringify((e as { outcome?: unknown }).outcome).slice(0, 160)}`);
        } catch {
          say(line);
        }
      },
    });
    const code = await run.done;
    if (run.proc.stderr.trim()) say(run.proc.stderr.trim().split('\n').slice(-5).join('\n'));
    const faulty = new Set(fleet.devices.filter((d) => d.spec.fault).map((d) => d.deviceId));
    let healthyOk = code === 0;
    if (jobId !== undefined) {
      // The report, as `airlift report <job> --json` prints it (what `npm run demo -- --json` prints).
      const report = fleet.station(['report', jobId, '--json']);
      await report.done;
      const text = report.proc.text.join('\n');
      if (o.json) process.stdout.write(`${text}\n`);
      const parsed = JSON.parse(text) as { devices: { id: string; result: string }[] };
      healthyOk = parsed.devices.filter((d) => !faulty.has(d.id)).every((d) => d.result === 'verified');
    }
    say(
      `Finished in ${((Date.now() - started) / 1000).toFixed(1)} s; the station is back on ${describeStationNetworks(fleet)}.`,
    );
    return healthyOk ? 0 : 1;
  } finally {
    say('Tearing the lab down…');
    await fleet.destroy();
    if (o.bundleDir === undefined) await rm(bundleDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`lab:netns failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
