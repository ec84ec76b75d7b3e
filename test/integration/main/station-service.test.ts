/**
 * The station service on the lab fleet, driven through its API as a front end would: pause at a
 * safe point and resume, cancel and retry the cancelled group, the adapter lock another process
 * holds, profiles that never give a password back, and a station restarted mid-job.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdapterLocks } from '../../../main/engine/adapter-lock';
import { startLabStation, type LabStation } from '../../../lab/station';
import { LABNET } from '../../../lab/fleet';
import type { JournalRecord } from '../../../shared/protocol/job';
import type { JobReport } from '../../../shared/protocol/job';
import type { LiveJob, Profile, StationSnapshot } from '../../../shared/station-api';

let station: LabStation | undefined;
afterEach(async () => {
  await station?.close();
  station = undefined;
});

async function lab(devices: number, faults = false, adapters = 1): Promise<LabStation> {
  station = await startLabStation({
    devices,
    adapters,
    faults,
    timeScale: 0.02,
    port: 0,
    rendererDir: '/nonexistent',
    scanIntervalMs: 300,
  });
  return station;
}

async function ready(s: LabStation): Promise<{ ids: string[]; profile: Profile }> {
  await s.service.call('importManifest', {
    fileName: 'lab.csv',
    text: await readFile(s.manifestPath, 'utf8'),
  });
  const profile = (await s.service.call('saveProfile', {
    name: 'LabNet',
    ssid: LABNET.ssid,
    security: 'wpa2-psk',
    password: LABNET.passphrase,
  })) as Profile;
  const snap = (await s.service.call('getSnapshot', {})) as StationSnapshot;
  return { ids: snap.devices.map((d) => d.id), profile };
}

async function journalOf(s: LabStation, jobId: string): Promise<JournalRecord[]> {
  const snap = (await s.service.call('getSnapshot', {})) as StationSnapshot;
  const text = await readFile(join(snap.info.jobsDir, `${jobId}.jsonl`), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalRecord);
}

/** How many times each device was sent credentials, by the journal. */
function pushes(records: JournalRecord[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const r of records)
    if (r.t === 'step' && r.step === 'pushing') n.set(r.deviceId, (n.get(r.deviceId) ?? 0) + 1);
  return n;
}

async function report(s: LabStation, jobId: string): Promise<JobReport> {
  return ((await s.service.call('getReport', { jobId })) as { report: JobReport }).report;
}

describe('the station service', () => {
  it('pauses at a safe point, then resumes without pushing to any device twice', async () => {
    const s = await lab(6);
    const { ids, profile } = await ready(s);
    const snap = (await s.service.call('getSnapshot', {})) as StationSnapshot;
    await s.service.call('saveSettings', { settings: { ...snap.settings, chunkSize: 2 } });
    let paused = false;
    s.service.subscribe((name, data) => {
      // Ask for the pause as soon as the first chunk is being pushed.
      if (!paused && name === 'jobStatus' && (data as LiveJob).counts.active > 0) {
        paused = true;
        void s.service.call('pauseJob', { jobId: (data as LiveJob).id });
      }
    });
    const { jobId } = (await s.service.call('startJob', {
      deviceIds: ids,
      profileId: profile.id,
      options: { path: 'ap' },
    })) as { jobId: string };
    await s.service.settled();
    const afterPause = (await s.service.call('getSnapshot', {})) as StationSnapshot;
    expect(afterPause.job?.status).toBe('paused');
    const first = await report(s, jobId);
    // The chunk under way was pushed and verified; the rest is still queued.
    expect(first.summary.verified).toBeGreaterThanOrEqual(1);
    expect(first.summary.pending).toBeGreaterThan(0);
    expect(first.summary.failed).toBe(0);
    expect(afterPause.history.find((h) => h.id === jobId)).toMatchObject({ ended: false, resumable: true });

    await s.service.call('resumeJob', { jobId });
    await s.service.settled();
    const done = await report(s, jobId);
    expect(done.summary).toMatchObject({ total: 6, verified: 6, failed: 0, pending: 0 });
    const counts = pushes(await journalOf(s, jobId));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.size).toBe(6);
  }, 60_000);

  it('cancels: devices not yet sent the network end cancelled; retrying that group by id also verifies the ones that took it', async () => {
    const s = await lab(5);
    const { ids, profile } = await ready(s);
    let cancelled = false;
    s.service.subscribe((name, data) => {
      if (!cancelled && name === 'jobStatus' && (data as LiveJob).counts.active > 0) {
        cancelled = true;
        void s.service.call('cancelJob', { jobId: (data as LiveJob).id });
      }
    });
    const { jobId } = (await s.service.call('startJob', {
      deviceIds: ids,
      profileId: profile.id,
      options: { path: 'ap' },
    })) as { jobId: string };
    await s.service.settled();
    const r = await report(s, jobId);
    const group = r.groups.find((g) => g.reason === 'cancelled');
    expect(group?.count).toBeGreaterThan(0);
    // A device that already took the network stays pushed, for the next run to verify.
    expect(
      r.devices
        .filter((d) => d.result === 'pending')
        .every((d) => d.step === 'pushed' || d.step === 'awaiting'),
    ).toBe(true);
    await s.service.call('retryDevices', { jobId, deviceIds: group?.deviceIds ?? [] });
    await s.service.settled();
    const again = await report(s, jobId);
    expect(again.summary).toMatchObject({ verified: 5, failed: 0 });
    expect(again.devices.filter((d) => group?.deviceIds.includes(d.id)).every((d) => d.attempts === 2)).toBe(
      true,
    );
  }, 60_000);

  it('retries only the group it is given, even when others failed too', async () => {
    const s = await lab(2, true);
    const { ids, profile } = await ready(s);
    const { jobId } = (await s.service.call('startJob', {
      deviceIds: ids,
      profileId: profile.id,
      options: { path: 'ap' },
    })) as { jobId: string };
    await s.service.settled();
    const r = await report(s, jobId);
    expect(r.summary).toMatchObject({ verified: 2, failed: 3 });
    const auth = r.groups.find((g) => g.reason === 'auth_failed');
    expect(auth?.count).toBe(1);
    await s.service.call('retryDevices', { jobId, deviceIds: auth?.deviceIds ?? [] });
    await s.service.settled();
    const again = await report(s, jobId);
    const attempts = new Map(again.devices.map((d) => [d.id, d.attempts]));
    for (const d of again.devices) expect(attempts.get(d.id)).toBe(auth?.deviceIds.includes(d.id) ? 2 : 1);
    const snap = (await s.service.call('getSnapshot', {})) as StationSnapshot;
    // The job remembers the profile it ran with: the live job and its history entry name it.
    expect(snap.job?.profileId).toBe(profile.id);
    expect(snap.history.find((h) => h.id === jobId)?.profileId).toBe(profile.id);
    // Rows carry each device's result in this job ("verified on LabNet").
    const row = snap.devices.find((d) => d.id === again.devices.find((x) => x.result === 'verified')?.id);
    expect(row?.history[0]).toMatchObject({ jobId, result: 'verified', ssid: 'LabNet' });
    expect(row?.warnings).toContain('verified_before');
  }, 60_000);

  it('refuses to start on an adapter another process holds, and pre-flight says so', async () => {
    const s = await lab(2);
    const { ids, profile } = await ready(s);
    const snap = (await s.service.call('getSnapshot', {})) as StationSnapshot;
    const locksDir = join(snap.info.jobsDir, '..', 'station', 'locks');
    // A lock written by another live process (a CLI run): its pid must be alive.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const { writeFile, mkdir } = await import('node:fs/promises');
      await mkdir(locksDir, { recursive: true });
      await writeFile(
        join(locksDir, `${Buffer.from('wlan0').toString('base64url')}.lock`),
        JSON.stringify({
          pid: other.pid,
          host: hostname(),
          jobId: 'cli-job',
          adapter: 'wlan0',
          at: new Date().toISOString(),
        }),
      );
      await s.service.call('refreshDiscovery', {});
      const pre = (await s.service.call('runPreflight', {
        deviceIds: ids,
        profileId: profile.id,
        options: { path: 'ap' },
        survey: false,
      })) as {
        canStart: boolean;
        checks: { id: string; status: string; title: string }[];
      };
      expect(pre.canStart).toBe(false);
      expect(pre.checks.find((c) => c.id === 'busy')).toMatchObject({ status: 'block' });
      await expect(
        s.service.call('startJob', { deviceIds: ids, profileId: profile.id, options: { path: 'ap' } }),
      ).rejects.toMatchObject({
        code: 'BUSY',
      });
    } finally {
      // The lock is stale only once that process is gone: wait for it, or the start below races it.
      if (other.exitCode === null && other.signalCode === null) {
        const gone = new Promise((resolve) => other.once('exit', resolve));
        other.kill();
        await gone;
      }
    }
    // Our own lock is taken for the job and given back after it.
    const { jobId } = (await s.service.call('startJob', {
      deviceIds: ids,
      profileId: profile.id,
      options: { path: 'ap' },
    })) as { jobId: string };
    await expect(AdapterLocks.acquire(locksDir, ['wlan0'], 'x')).rejects.toMatchObject({ code: 'BUSY' });
    await s.service.settled();
    expect((await report(s, jobId)).summary.verified).toBe(2);
    const locks = await AdapterLocks.acquire(locksDir, ['wlan0'], 'after');
    await locks.release();
  }, 60_000);

  it('never gives a password back, and checks it against the security', async () => {
    const s = await lab(1);
    const saved = (await s.service.call('saveProfile', {
      name: 'Plant',
      ssid: 'Plant-WiFi',
      security: 'wpa2-psk',
      password: 'a long enough secret',
    })) as Profile;
    expect(JSON.stringify(saved)).not.toContain('a long enough secret');
    expect(saved.password).toEqual({ held: true, storage: 'session' });
    // Renamed without a password: the held one stays.
    const renamed = (await s.service.call('saveProfile', {
      id: saved.id,
      name: 'Plant floor',
      ssid: 'Plant-WiFi',
      security: 'wpa2-psk',
    })) as Profile;
    expect(renamed.password.held).toBe(true);
    await expect(
      s.service.call('saveProfile', { name: 'Short', ssid: 'X', security: 'wpa2-psk', password: 'short' }),
    ).rejects.toMatchObject({
      code: 'INVALID_PASSPHRASE',
    });
    await expect(
      s.service.call('saveProfile', {
        id: saved.id,
        name: 'Plant',
        ssid: 'Plant-WiFi',
        security: 'wpa3-sae',
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_PASSPHRASE',
    });
    const snap = (await s.service.call('getSnapshot', {})) as StationSnapshot;
    expect(JSON.stringify(snap)).not.toContain('a long enough secret');
  });
});
