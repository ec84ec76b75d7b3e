/**
 * Where the desktop app keeps things: where `airlift station` keeps them (main/engine/paths.ts).
 * Job journals and adapter locks are the CLI's, so a job started in one resumes in the other,
 * History shows both, and the app and the CLI never move the same adapter at once; profiles and
 * settings are the station state directory's, as the web host's are. Only the sealed site
 * passwords are the app's own, in its userData (another host could not open them anyway).
 */
import { join } from 'node:path';
import { defaultJobsDir, defaultLocksDir, stationStateDir } from '../engine/paths';
import { HELPER_NAME } from '../wifi/macos';

export interface StationPaths {
  dataDir: string;
  jobsDir: string;
  locksDir: string;
  /** The sealed site passwords (0600, written atomically). */
  secretsFile: string;
}

export function stationPaths(o: {
  userData: string;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
}): StationPaths {
  return {
    dataDir: stationStateDir(o.env, o.platform),
    jobsDir: defaultJobsDir(o.env, o.platform),
    locksDir: defaultLocksDir(o.env, o.platform),
    secretsFile: join(o.userData, 'site-passwords.json'),
  };
}

/** The bundle's files, from where the main bundle itself lies (dist/desktop/main.js, in app.asar when packaged). */
export function bundlePaths(desktopDir: string): { preload: string; rendererDir: string } {
  return { preload: join(desktopDir, 'preload.cjs'), rendererDir: join(desktopDir, '..', 'renderer') };
}

/**
 * The macOS Wi-Fi helper: Contents/Helpers/airlift-wifi-helper in the packaged app (beside
 * Contents/Resources); in development, wherever AIRLIFT_MACOS_HELPER points.
 */
export function macosHelperPath(o: {
  packaged: boolean;
  resourcesPath: string | undefined;
  env: NodeJS.ProcessEnv;
}): string | undefined {
  if (o.packaged && o.resourcesPath !== undefined) return join(o.resourcesPath, '..', 'Helpers', HELPER_NAME);
  const given = o.env['AIRLIFT_MACOS_HELPER'];
  return given !== undefined && given !== '' ? given : undefined;
}
