import { describe, expect, it } from 'vitest';
import type { JobReport } from '../../../../shared/protocol/job';
import type { AdapterRow, StationSnapshot } from '../../../../shared/station-api';
import { desktopHandlers } from '../../../../main/electron/desktop-api';
import {
  devicePageUrl,
  externalUrlAllowed,
  findVerifiedIp,
  isCanonicalIPv4,
  LOCATION_SETTINGS_URLS,
  locationSettingsFor,
  locationSettingsUrl,
} from '../../../../main/electron/external';

describe('device page URLs', () => {
  it.each([
    ['192.168.1.20', 'http://192.168.1.20/'],
    ['10.0.0.5', 'http://10.0.0.5/'],
    ['172.16.3.4', 'http://172.16.3.4/'],
    ['127.0.0.1', undefined],
    ['0.0.0.0', undefined],
    ['255.255.255.255', undefined],
    ['224.0.0.251', undefined],
    ['169.254.10.10', undefined],
    ['192.168.001.020', undefined],
    ['0x7f.0.0.1', undefined],
    ['3232235796', undefined],
    ['192.168.1', undefined],
    ['fe80::1', undefined],
    ['evil.example', undefined],
    ['192.168.1.20/admin', undefined],
    ['192.168.1.20:8080', undefined],
    ['user@192.168.1.20', undefined],
    ['', undefined],
  ])('%j → %s', (ip, url) => {
    expect(devicePageUrl(ip)).toBe(url);
  });

  it('accepts only canonical dotted quads', () => {
    expect(isCanonicalIPv4('1.2.3.4')).toBe(true);
    expect(isCanonicalIPv4('01.2.3.4')).toBe(false);
    expect(isCanonicalIPv4('1.2.3.4 ')).toBe(false);
  });
});

describe('the allow-list for shell.openExternal', () => {
  const verified = { verifiedIps: ['192.168.1.20'], platform: 'darwin' as const };

  it.each([
    ['http://192.168.1.20/', true],
    [LOCATION_SETTINGS_URLS.darwin, true],
    [LOCATION_SETTINGS_URLS.win32, false],
    ['http://192.168.1.21/', false],
    ['https://192.168.1.20/', false],
    ['http://192.168.1.20', false],
    ['http://192.168.1.20/admin', false],
    ['http://192.168.1.20:80/', false],
    ['http://user@192.168.1.20/', false],
    ['http://192.168.1.20/?x=1', false],
    ['http://evil.example/', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['smb://192.168.1.20/share', false],
    ['x-apple.systempreferences:com.apple.preference.security?Privacy_Camera', false],
    ['ms-settings:privacy-location', false],
    ['', false],
  ])('on macOS %j → %s', (url, ok) => {
    expect(externalUrlAllowed(url, verified)).toBe(ok);
  });

  it('Windows gets its own settings page, Linux none', () => {
    expect(externalUrlAllowed(LOCATION_SETTINGS_URLS.win32, { verifiedIps: [], platform: 'win32' })).toBe(true);
    expect(externalUrlAllowed(LOCATION_SETTINGS_URLS.darwin, { verifiedIps: [], platform: 'win32' })).toBe(false);
    expect(locationSettingsUrl('linux')).toBeUndefined();
    expect(externalUrlAllowed(LOCATION_SETTINGS_URLS.win32, { verifiedIps: [], platform: 'linux' })).toBe(false);
  });

  it('an unverified address is never a device page', () => {
    expect(externalUrlAllowed('http://192.168.1.20/', { verifiedIps: [], platform: 'linux' })).toBe(false);
    expect(externalUrlAllowed('http://127.0.0.1/', { verifiedIps: ['127.0.0.1'], platform: 'linux' })).toBe(false);
  });
});

// ---- where a verified address comes from -------------------------------------------------------------

function report(jobId: string, devices: { id: string; result: 'verified' | 'failed' | 'pending'; ip?: string }[]): JobReport {
  return {
    job: { id: jobId, createdAt: '2026-01-01T00:00:00.000Z', path: 'ap', target: { ssid: 'Site', ssidHex: '53697465', security: 'wpa2-psk' }, nonce8: '0123abcd' },
    summary: { total: devices.length, verified: 0, failed: 0, pending: 0, byReason: {} },
    groups: [],
    devices: devices.map((d) => ({
      id: d.id,
      result: d.result,
      step: d.result === 'verified' ? 'verified' : 'failed',
      ...(d.ip !== undefined ? { ip: d.ip } : {}),
      timings: { totalMs: 0 },
      apps: [],
      checks: [],
      attempts: 1,
    })),
  } as unknown as JobReport;
}

function snapshot(over: { job?: unknown; history?: { jobId: string; result: 'verified' | 'failed' }[]; lan?: string[] } = {}) {
  return {
    job: over.job ?? null,
    devices: [
      {
        id: 'K7Q2M6XA',
        sources: ['mdns'],
        state: 'online',
        secretKnown: true,
        warnings: [],
        history: (over.history ?? []).map((h) => ({ ...h, ssid: 'Site', at: '2026-01-01T00:00:00.000Z' })),
        // An mDNS address: never the source of a device page.
        ...(over.lan ? { lan: { addresses: over.lan, port: 4780, host: 'x.local', seenAt: 0 }, address: over.lan[0] } : {}),
      },
    ],
    adapters: [] as AdapterRow[],
  } as unknown as StationSnapshot;
}

describe('findVerifiedIp', () => {
  const reports = new Map([
    ['job-new', report('job-new', [{ id: 'K7Q2M6XA', result: 'verified', ip: '192.168.1.20' }])],
    ['job-old', report('job-old', [{ id: 'K7Q2M6XA', result: 'verified', ip: '192.168.1.9' }])],
    ['job-failed', report('job-failed', [{ id: 'K7Q2M6XA', result: 'failed', ip: '10.0.0.66' }])],
  ]);
  const src = (snap: StationSnapshot) => ({
    snapshot: () => Promise.resolve(snap),
    report: (id: string) => {
      const r = reports.get(id);
      return r ? Promise.resolve(r) : Promise.reject(new Error('no such job'));
    },
  });

  it('takes the running job when it verified the device', async () => {
    const live = { devices: [{ id: 'K7Q2M6XA', step: 'verified', ip: '192.168.1.77' }] };
    expect(await findVerifiedIp(src(snapshot({ job: live })), 'K7Q2M6XA')).toBe('192.168.1.77');
  });

  it('not a running job device that is only pushed', async () => {
    const live = { devices: [{ id: 'K7Q2M6XA', step: 'pushed', ip: '192.168.1.77' }] };
    await expect(findVerifiedIp(src(snapshot({ job: live })), 'K7Q2M6XA')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('else the newest job of its history that verified it', async () => {
    const snap = snapshot({ history: [{ jobId: 'job-failed', result: 'failed' }, { jobId: 'job-new', result: 'verified' }, { jobId: 'job-old', result: 'verified' }] });
    expect(await findVerifiedIp(src(snap), 'K7Q2M6XA')).toBe('192.168.1.20');
  });

  it('the job the page names, when it names one', async () => {
    expect(await findVerifiedIp(src(snapshot()), 'K7Q2M6XA', 'job-old')).toBe('192.168.1.9');
    await expect(findVerifiedIp(src(snapshot()), 'K7Q2M6XA', 'job-failed')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('never an mDNS address of a device the station has not verified', async () => {
    await expect(findVerifiedIp(src(snapshot({ lan: ['192.168.1.50'] })), 'K7Q2M6XA')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(findVerifiedIp(src(snapshot()), 'ZZZZZZZZ')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('Location settings for an adapter', () => {
  const adapter = (settingsUrl?: string): AdapterRow =>
    ({ id: 'wlan0', name: 'Wi-Fi', permission: { state: 'denied', ...(settingsUrl ? { settingsUrl } : {}) } }) as AdapterRow;

  it('opens this OS page for a known adapter', () => {
    expect(locationSettingsFor([adapter(LOCATION_SETTINGS_URLS.win32)], 'wlan0', 'win32')).toBe(LOCATION_SETTINGS_URLS.win32);
    expect(locationSettingsFor([adapter()], 'wlan0', 'darwin')).toBe(LOCATION_SETTINGS_URLS.darwin);
  });

  it('refuses an unknown adapter, another OS page and Linux', () => {
    expect(() => locationSettingsFor([adapter()], 'wlan9', 'win32')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }) as Error);
    expect(() => locationSettingsFor([adapter(LOCATION_SETTINGS_URLS.darwin)], 'wlan0', 'win32')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }) as Error);
    expect(() => locationSettingsFor([adapter()], 'wlan0', 'linux')).toThrow(expect.objectContaining({ code: 'BACKEND_UNAVAILABLE' }) as Error);
  });
});

describe('the desktop handlers', () => {
  function handlers(platform: NodeJS.Platform, snap: StationSnapshot, reports: Record<string, JobReport> = {}) {
    const opened: string[] = [];
    const calls: string[] = [];
    const h = desktopHandlers({
      platform,
      shell: {
        openExternal: (url) => {
          opened.push(url);
          return Promise.resolve();
        },
      },
      station: {
        call: (method, params) => {
          calls.push(method);
          if (method === 'getSnapshot') return Promise.resolve(snap);
          if (method === 'getReport') {
            const r = reports[(params as { jobId: string }).jobId];
            return r ? Promise.resolve({ report: r }) : Promise.reject(new Error('none'));
          }
          return Promise.reject(new Error(`unexpected ${method}`));
        },
      },
    });
    return { h, opened, calls };
  }

  it('openDevicePage opens the verified address and nothing else', async () => {
    const t = handlers('linux', snapshot({ history: [{ jobId: 'j1', result: 'verified' }] }), {
      j1: report('j1', [{ id: 'K7Q2M6XA', result: 'verified', ip: '192.168.1.20' }]),
    });
    await t.h.openDevicePage({ deviceId: 'K7Q2M6XA' });
    expect(t.opened).toEqual(['http://192.168.1.20/']);
    // Only reads of the station.
    expect(t.calls.every((m) => m === 'getSnapshot' || m === 'getReport')).toBe(true);
  });

  it('openDevicePage refuses a verified device whose recorded address is no IPv4 host', async () => {
    const t = handlers('linux', snapshot({ job: { devices: [{ id: 'K7Q2M6XA', step: 'verified', ip: '127.0.0.1' }] } }));
    await expect(t.h.openDevicePage({ deviceId: 'K7Q2M6XA' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(t.opened).toEqual([]);
  });

  it('openLocationSettings opens the OS page', async () => {
    const snap = { ...snapshot(), adapters: [{ id: 'Wi-Fi', name: 'Wi-Fi', permission: { state: 'denied' } }] } as unknown as StationSnapshot;
    const t = handlers('win32', snap);
    await t.h.openLocationSettings({ adapterId: 'Wi-Fi' });
    expect(t.opened).toEqual(['ms-settings:privacy-location']);
  });
});
