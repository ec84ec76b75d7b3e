/**
 * The station on a virtual fleet, for every front end that shows it: the web host
 * (`npm run station -- --lab 12`, lab/station.ts) and the desktop app (`npm start -- --lab 12`,
 * lab/desktop.ts). A fleet of real agents on simulated radios, its manifest written where the
 * technician can import it, and the station's settings fitted to the fleet's scaled time.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatManifestCsv } from '../shared/manifest';
import type { StationSnapshot } from '../shared/station-api';
import type { StationEnvironment } from '../main/station/service';
import { LABNET, startFleet, type Fleet, type InjectedFault } from './fleet';

export const LAB_FAULTS: InjectedFault[] = ['wrong_password', 'out_of_range', 'dhcp_failure'];

export interface LabFleetOptions {
  devices: number;
  adapters?: number;
  faults?: boolean;
  timeScale?: number;
  apSta?: boolean;
}

/** What a station service needs from the lab, and what to do once it runs. */
export interface LabStationParts {
  fleet: Fleet;
  env: StationEnvironment;
  /** A scratch directory: the station's state (`station/`), its jobs (`jobs/`), the manifest. */
  dir: string;
  manifestPath: string;
  /** Fit the settings to the fleet's time; with `ready`, import the manifest and make the LabNet profile. */
  prepare(
    service: { call(method: string, params: unknown): Promise<unknown> },
    ready: boolean,
  ): Promise<void>;
  close(): Promise<void>;
}

export async function startLabStationParts(o: LabFleetOptions): Promise<LabStationParts> {
  const timeScale = o.timeScale ?? 0.25;
  const fleet = await startFleet({
    devices: o.devices,
    adapters: o.adapters ?? 2,
    faults: o.faults ? LAB_FAULTS : [],
    timeScale,
    apSta: o.apSta === true,
  });
  const dir = await mkdtemp(join(tmpdir(), 'airlift-lab-station-'));
  const manifestPath = join(dir, 'lab-manifest.csv');
  await writeFile(
    manifestPath,
    formatManifestCsv(fleet.manifest.map((m) => ({ ...m, extra: { salt: m.salt, iter: String(m.iter) } }))),
    { mode: 0o600 },
  );
  return {
    fleet,
    env: { adapters: fleet.provider, browser: fleet.browser(), transport: fleet.transport },
    dir,
    manifestPath,
    async prepare(service, ready) {
      // The fleet's radios run on scaled time: a device gives up joining (and reopens setup) within
      // about 25 s of it, so waiting longer for it to reappear only slows the lab down.
      const { settings } = (await service.call('getSnapshot', {})) as StationSnapshot;
      await service.call('saveSettings', {
        settings: { ...settings, verifyTimeoutSeconds: Math.max(5, Math.ceil(25 * timeScale)) },
      });
      if (!ready) return;
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
    },
    async close() {
      await fleet.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the lab prints for the technician beside the URL. */
export function labBanner(parts: LabStationParts): string[] {
  return [
    `Manifest of the virtual fleet: ${parts.manifestPath}`,
    `Target network: ${LABNET.ssid}, password "${LABNET.passphrase}" (a lab network)`,
  ];
}
