/**
 * The desktop-only extras on `window.airlift` (`desktopMethods` in shared/station-api.ts): handlers
 * that build each URL themselves and check it against the allow-list in external.ts before
 * `shell.openExternal`.
 */
import type { z } from 'zod';
import { AirliftError } from '../../shared/errors';
import type { JobReport } from '../../shared/protocol/job';
import type { desktopMethods, DesktopMethod, StationSnapshot } from '../../shared/station-api';
import type { ShellLike } from './electron-api';
import { externalUrlAllowed, findVerifiedIp, devicePageUrl, locationSettingsFor } from './external';

export type DesktopParams<M extends DesktopMethod> = z.output<(typeof desktopMethods)[M]['params']>;

export interface DesktopDeps {
  station: { call(method: string, params: unknown): Promise<unknown> };
  shell: ShellLike;
  platform: NodeJS.Platform;
}

/** The desktop extras' handlers (params already parsed with `desktopMethods`). */
export function desktopHandlers(d: DesktopDeps): {
  [M in DesktopMethod]: (p: DesktopParams<M>) => Promise<object>;
} {
  const snapshot = async () => (await d.station.call('getSnapshot', {})) as StationSnapshot;
  const report = async (jobId: string) =>
    ((await d.station.call('getReport', { jobId })) as { report: JobReport }).report;
  const open = async (url: string, verifiedIps: string[]) => {
    if (!externalUrlAllowed(url, { verifiedIps, platform: d.platform }))
      throw new AirliftError(
        'BAD_REQUEST',
        'The app opens only verified device pages and the Location settings',
      );
    await d.shell.openExternal(url);
    return {};
  };
  return {
    openDevicePage: async (p) => {
      const ip = await findVerifiedIp({ snapshot, report }, p.deviceId, p.jobId);
      const url = devicePageUrl(ip);
      if (url === undefined)
        throw new AirliftError('NOT_FOUND', `${p.deviceId} has no IPv4 address the app can open`);
      return open(url, [ip]);
    },
    openLocationSettings: async (p) => {
      const snap = await snapshot();
      return open(locationSettingsFor(snap.adapters, p.adapterId, d.platform), []);
    },
  };
}
