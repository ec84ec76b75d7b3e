/**
 * `npm run station -- --lab 12 [--faults]`: the station app on a virtual fleet. Real agents on
 * simulated radios, the real station service and web host, the real UI: open the printed URL,
 * import the printed manifest, make a profile for LabNet (password `correct horse`) and provision.
 * `--ready` does the import and the profile for you.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { formatManifestCsv } from '../shared/manifest';
import type { StationSnapshot } from '../shared/station-api';
import { MemorySecretStore } from '../main/station/secret-store';
import { StationService } from '../main/station/service';
import { DEFAULT_STATION_PORT, startWebHost } from '../main/station/web-host';
import { LABNET, startFleet, type InjectedFault } from './fleet';

const count = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
  return n;
};

export interface LabStationOptions {
  devices: number;
  adapters?: number;
  faults?: boolean;
  timeScale?: number;
  port?: number;
  /** A built UI; built into dist/renderer when absent. */
  rendererDir?: string;
  ready?: boolean;
  token?: string;
  scanIntervalMs?: number;
  apSta?: boolean;
}

export interface LabStation {
  url: string;
  port: number;
  manifestPath: string;
  service: StationService;
  close(): Promise<void>;
}

export const LAB_FAULTS: InjectedFault[] = ['wrong_password', 'out_of_range', 'dhcp_failure'];

/** Build the UI (Vite) unless a built one is given. */
async function rendererDir(given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const { build } = await import('vite');
  await build({
    configFile: fileURLToPath(new URL('../renderer/vite.config.ts', import.meta.url)),
    logLevel: 'warn',
  });
  return fileURLToPath(new URL('../dist/renderer', import.meta.url));
}

export async function startLabStation(o: LabStationOptions): Promise<LabStation> {
  const ui = await rendererDir(o.rendererDir);
  const fleet = await startFleet({
    devices: o.devices,
    adapters: o.adapters ?? 2,
    faults: o.faults ? LAB_FAULTS : [],
    timeScale: o.timeScale ?? 0.25,
    apSta: o.apSta === true,
  });
  const dir = await mkdtemp(join(tmpdir(), 'airlift-lab-station-'));
  const manifestPath = join(dir, 'lab-manifest.csv');
  await writeFile(
    manifestPath,
    formatManifestCsv(fleet.manifest.map((m) => ({ ...m, extra: { salt: m.salt, iter: String(m.iter) } }))),
    { mode: 0o600 },
  );
  const service = new StationService({
    env: { adapters: fleet.provider, browser: fleet.browser(), transport: fleet.transport },
    dataDir: join(dir, 'station'),
    jobsDir: join(dir, 'jobs'),
    secrets: new MemorySecretStore(),
    info: { version: '0.1.0-lab', host: 'web', lab: true },
    scanIntervalMs: o.scanIntervalMs ?? 5_000,
    log: (level, message) => process.stderr.write(`station ${level}: ${message}\n`),
  });
  await service.start();
  // The fleet's radios run on scaled time: a device gives up joining (and reopens setup) within
  // about 25 s of it, so waiting longer for it to reappear only slows the lab down.
  const timeScale = o.timeScale ?? 0.25;
  const { settings } = (await service.call('getSnapshot', {})) as StationSnapshot;
  await service.call('saveSettings', {
    settings: { ...settings, verifyTimeoutSeconds: Math.max(5, Math.ceil(25 * timeScale)) },
  });
  if (o.ready) {
    const { readFile } = await import('node:fs/promises');
    await service.call('importManifest', {
      fileName: 'lab-manifest.csv',
      text: await readFile(manifestPath, 'utf8'),
    });
    await service.call('saveProfile', {
      name: LABNET.ssid,
      ssid: LABNET.ssid,
      security: 'wpa2-psk',
      password: LABNET.passphrase,
    });
  }
  const host = await startWebHost({
    service,
    rendererDir: ui,
    port: o.port ?? DEFAULT_STATION_PORT,
    ...(o.token !== undefined ? { token: o.token } : {}),
  });
  return {
    url: host.url,
    port: host.port,
    manifestPath,
    service,
    async close() {
      await host.close();
      await service.settled();
      await service.stop();
      await fleet.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const program = new Command('station')
    .description('The station app on a virtual fleet')
    .option('--lab <n>', 'devices in setup mode', count(1, 500), 12)
    .option('--adapters <k>', "the station's Wi-Fi adapters", count(1, 8), 2)
    .option('--faults', 'add a wrong-password device, an out-of-range device and a DHCP failure')
    .option('--ap-sta', 'devices keep their setup AP up while joining')
    .option('--time-scale <x>', 'radio latencies (1 = realistic)', (v) => Number(v), 0.25)
    .option('--port <port>', 'port on 127.0.0.1', count(0, 65535), DEFAULT_STATION_PORT)
    .option('--ready', 'import the lab manifest and create the LabNet profile')
    .parse();
  const opts = program.opts<{
    lab: number;
    adapters: number;
    faults?: boolean;
    apSta?: boolean;
    timeScale: number;
    port: number;
    ready?: boolean;
  }>();
  process.stderr.write(`Starting ${opts.lab} virtual devices${opts.faults ? ' and 3 with faults' : ''}…\n`);
  const station = await startLabStation({
    devices: opts.lab,
    adapters: opts.adapters,
    faults: opts.faults === true,
    timeScale: opts.timeScale,
    port: opts.port,
    ready: opts.ready === true,
    apSta: opts.apSta === true,
  });
  process.stdout.write(
    [
      `Airlift station (lab): ${station.url}`,
      `Manifest of the virtual fleet: ${station.manifestPath}`,
      `Target network: ${LABNET.ssid}, password "${LABNET.passphrase}" (a lab network)`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  const stop = () => {
    void station.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`station failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
