/**
 * The desktop-only extras on `window.airlift`, beside the station API: each with a params schema
 * like a station method, and a handler that builds its URL itself and checks it against the
 * allow-list in external.ts before `shell.openExternal`. (Proposed for shared/station-api.ts as
 * `desktopMethods`, so the renderer's bridge can validate them too; see docs/desktop.md.)
 */
import { z } from 'zod';
import { AirliftError } from '../../shared/errors';
import { DEVICE_ID_RE } from '../../shared/identity';
import { jobIdSchema, type JobReport } from '../../shared/protocol/job';
import type { StationSnapshot } from '../../shared/station-api';
import type { DesktopMethod } from './channels';
import type { ShellLike } from './electron-api';
import { externalUrlAllowed, findVerifiedIp, devicePageUrl, locationSettingsFor } from './external';

export const desktopMethods = {
  /** Open a verified device's own web page (`http://<ip>/`) in the default browser. */
  openDevicePage: {
    params: z
      .object({ deviceId: z.string().regex(DEVICE_ID_RE, 'deviceId must be 8 base32 characters'), jobId: jobIdSchema.optional() })
      .strict(),
    result: z.object({}).strict(),
  },
  /** Open the OS page that grants Location to Wi-Fi scans (Windows, macOS). */
  openLocationSettings: {
    params: z.object({ adapterId: z.string().min(1).max(256) }).strict(),
    result: z.object({}).strict(),
  },
} as const satisfies Record<DesktopMethod, { params: z.ZodType; result: z.ZodType }>;

export type DesktopParams<M extends DesktopMethod> = z.output<(typeof desktopMethods)[M]['params']>;

export interface DesktopDeps {
  station: { call(method: string, params: unknown): Promise<unknown> };
  shell: ShellLike;
  platform: NodeJS.Platform;
}

/** The desktop extras' handlers (params already parsed with `desktopMethods`). */
export function desktopHandlers(d: DesktopDeps): { [M in DesktopMethod]: (p: DesktopParams<M>) => Promise<object> } {
  const snapshot = async () => (await d.station.call('getSnapshot', {})) as StationSnapshot;
  const report = async (jobId: string) => ((await d.station.call('getReport', { jobId })) as { report: JobReport }).report;
  const open = async (url: string, verifiedIps: string[]) => {
    if (!externalUrlAllowed(url, { verifiedIps, platform: d.platform }))
      throw new AirliftError('BAD_REQUEST', 'The app opens only verified device pages and the Location settings');
    await d.shell.openExternal(url);
    return {};
  };
  return {
    openDevicePage: async (p) => {
      const ip = await findVerifiedIp({ snapshot, report }, p.deviceId, p.jobId);
      const url = devicePageUrl(ip);
      if (url === undefined) throw new AirliftError('NOT_FOUND', `${p.deviceId} has no IPv4 address the app can open`);
      return open(url, [ip]);
    },
    openLocationSettings: async (p) => {
      const snap = await snapshot();
      return open(locationSettingsFor(snap.adapters, p.adapterId, d.platform), []);
    },
  };
}
