/**
 * The station app in a browser on a virtual fleet (`npm run station -- --lab 12 [--faults]`): the
 * real station service and web host, the real UI. Open the printed URL, import the printed manifest,
 * make a profile for LabNet (password `correct horse`) and provision; `--ready` does the import and
 * the profile for you. `startLabStation` is also what the tests drive.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MemorySecretStore } from '../main/station/secret-store';
import { StationService } from '../main/station/service';
import { DEFAULT_STATION_PORT, startWebHost } from '../main/station/web-host';
import { labBanner, startLabStationParts, type LabFleetOptions } from './lab-station';

export { LAB_FAULTS } from './lab-station';

export interface LabStationOptions extends LabFleetOptions {
  port?: number;
  /** A built UI; built into dist/renderer when absent. */
  rendererDir?: string;
  ready?: boolean;
  token?: string;
  scanIntervalMs?: number;
}

export interface LabStation {
  url: string;
  port: number;
  manifestPath: string;
  service: StationService;
  banner: string[];
  close(): Promise<void>;
}

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
  const parts = await startLabStationParts(o);
  const service = new StationService({
    env: parts.env,
    dataDir: join(parts.dir, 'station'),
    jobsDir: join(parts.dir, 'jobs'),
    secrets: new MemorySecretStore(),
    info: { version: '0.1.0-lab', host: 'web', lab: true },
    scanIntervalMs: o.scanIntervalMs ?? 5_000,
    log: (level, message) => process.stderr.write(`station ${level}: ${message}\n`),
  });
  await service.start();
  await parts.prepare(service, o.ready === true);
  const host = await startWebHost({
    service,
    rendererDir: ui,
    port: o.port ?? DEFAULT_STATION_PORT,
    ...(o.token !== undefined ? { token: o.token } : {}),
  });
  return {
    url: host.url,
    port: host.port,
    manifestPath: parts.manifestPath,
    service,
    banner: [`Airlift station (lab): ${host.url}`, ...labBanner(parts)],
    async close() {
      await host.close();
      await service.settled();
      await service.stop();
      await parts.close();
    },
  };
}
