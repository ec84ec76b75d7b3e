/** `airlift` in-process against a virtual fleet: provision, jobs, report, retry, resume, bad input. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirliftError } from '../../../shared/errors';
import { AdapterLocks } from '../../../main/engine/adapter-lock';
import { main, EXIT, type CliIo, type StationEnv } from '../../../main/cli/airlift';
import { LABNET, startFleet, type Fleet, type FleetOptions } from '../../../lab/fleet';
import { wpa2Psk, ssidHexOf } from '../../../lab/airspace';
import { errorAnswer, standIn } from './hostile-device';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rig {
  fleet: Fleet;
  dir: string;
  run(args: string[]): Promise<{ code: number; out: string; err: string }>;
}

async function rig(o: FleetOptions): Promise<Rig> {
  const fleet = await startFleet({ timeScale: 0.02, ...o });
  cleanups.push(() => fleet.close());
  const dir = await mkdtemp(join(tmpdir(), 'airlift-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const csv = [
    'deviceId,setupSecret,name,salt,iter',
    ...fleet.manifest.map((m) => `${m.deviceId},${m.setupSecret},${m.name ?? ''},${m.salt},${m.iter}`),
  ];
  await writeFile(join(dir, 'manifest.csv'), `${csv.join('\n')}\n`);
  await writeFile(join(dir, 'pass.txt'), `${LABNET.passphrase}\n`, { mode: 0o600 });
  const env = (): StationEnv => ({
    adapters: fleet.provider,
    browser: () => fleet.browser(),
    transport: fleet.transport,
  });
  return {
    fleet,
    dir,
    async run(args) {
      let out = '';
      let err = '';
      const io: CliIo = {
        stdout: { write: (s) => void (out += s), isTTY: false },
        stderr: { write: (s) => void (err += s) },
        readStdin: () => Promise.resolve(''),
      };
      const code = await main(['--jobs-dir', join(dir, 'jobs'), ...args], io, env);
      return { code, out, err };
    },
  };
}

const provisionArgs = (dir: string) => [
  'provision',
  '--ssid',
  'LabNet',
  '--passphrase-file',
  join(dir, 'pass.txt'),
  '--manifest',
  join(dir, 'manifest.csv'),
  '--verify-timeout',
  '5',
];

function jobIdOf(text: string): string {
  const m = /Job (\d{8}-\d{6}-[0-9a-f]{4})/.exec(text) ?? /"jobId":"(\d{8}-\d{6}-[0-9a-f]{4})"/.exec(text);
  if (!m?.[1]) throw new Error(`no job id in: ${text.slice(0, 400)}`);
  return m[1];
}

describe('airlift CLI', () => {
  it('provisions a fleet from a manifest, then lists the job and prints its report', async () => {
    const r = await rig({ devices: 3, adapters: 2 });
    const p = await r.run(provisionArgs(r.dir));
    expect(p.code, p.err).toBe(EXIT.OK);
    expect(p.out).toContain('3 devices: 3 verified, 0 failed');
    expect(p.err).toContain('verified at 192.168.50.');
    expect(p.out + p.err).not.toContain(LABNET.passphrase);
    const id = jobIdOf(p.out);

    const jobs = await r.run(['jobs', '--json']);
    expect((JSON.parse(jobs.out) as { jobs: { id: string }[] }).jobs[0]).toMatchObject({ id });

    const json = await r.run(['report', id, '--json']);
    const report = JSON.parse(json.out) as {
      summary: { total: number; verified: number; failed: number };
      devices: { id: string; result: string; ip: string; timings: object }[];
    };
    expect(report.summary).toMatchObject({ total: 3, verified: 3, failed: 0 });
    for (const d of report.devices) {
      expect(d.result).toBe('verified');
      expect(d.ip).toMatch(/^192\.168\.50\./);
    }

    const out = join(r.dir, 'report.csv');
    expect((await r.run(['report', id, '--csv', '--out', out])).code).toBe(EXIT.OK);
    const csv = await readFile(out, 'utf8');
    expect(csv.split(/\r?\n/)[0]).toMatch(/^deviceId,name,group,result,reason,ip/);
    expect(csv).toContain('verified');
    // The journal never holds a secret.
    const journal = await readFile(join(r.dir, 'jobs', `${id}.jsonl`), 'utf8');
    expect(journal).not.toContain(LABNET.passphrase);
    for (const m of r.fleet.manifest) expect(journal).not.toContain(m.setupSecret);
  });

  it('streams JSON progress events with --json and exits 1 when devices fail; retry fixes the group', async () => {
    const r = await rig({ devices: 2, adapters: 1, faults: ['out_of_range'] });
    const p = await r.run([...provisionArgs(r.dir), '--json']);
    expect(p.code).toBe(EXIT.FAILED);
    const events = p.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe('job-started');
    expect(events.at(-1)?.type).toBe('job-finished');
    const id = jobIdOf(p.out);
    const bad = r.fleet.devices.find((d) => d.fault)?.entry.deviceId ?? '';
    r.fleet.airspace.clearSignal(bad);
    const retry = await r.run([
      'retry',
      id,
      '--reason',
      'target_not_seen',
      '--passphrase-file',
      join(r.dir, 'pass.txt'),
    ]);
    expect(retry.code, retry.err).toBe(EXIT.OK);
    const report = JSON.parse((await r.run(['report', id, '--json'])).out) as {
      summary: { verified: number; failed: number };
    };
    expect(report.summary).toMatchObject({ verified: 3, failed: 0 });
  });

  it('provisions with a raw PSK read from the passphrase file', async () => {
    const r = await rig({ devices: 2, adapters: 1 });
    const psk = Buffer.from(wpa2Psk(LABNET.passphrase, ssidHexOf(LABNET.ssid))).toString('hex');
    await writeFile(join(r.dir, 'pass.txt'), `${psk}\n`, { mode: 0o600 });
    const p = await r.run(provisionArgs(r.dir));
    expect(p.code, p.out + p.err).toBe(EXIT.OK);
    expect(p.out).toContain('2 devices: 2 verified, 0 failed');
    expect(p.out + p.err).not.toContain(psk);
  });

  it('says what to do on a locked-out device before retrying its group', async () => {
    const r = await rig({ devices: 2, adapters: 1 });
    const victim = r.fleet.manifest[0]?.deviceId ?? '';
    const s = await standIn(r.fleet, victim, (q) =>
      q.path === '/v1/session/hello' ? errorAnswer(new AirliftError('LOCKED_OUT', 'no')) : undefined,
    );
    cleanups.push(() => s.close());
    const p = await r.run(provisionArgs(r.dir));
    expect(p.code).toBe(EXIT.FAILED);
    const id = jobIdOf(p.out);
    expect(p.out).toContain('locked_out');
    expect(p.out).toMatch(/locked_out \(1\): on each device run `airliftctl reset-lockout`/);
    expect(p.out).toContain(`airlift retry ${id} --reason locked_out`);
  });

  it('refuses bad input with clear errors and usage exit codes', async () => {
    const r = await rig({ devices: 1, adapters: 1 });
    const noTarget = await r.run(['provision', '--manifest', join(r.dir, 'manifest.csv')]);
    expect(noTarget.code).toBe(EXIT.USAGE);
    expect(noTarget.err).toContain('--ssid');
    const noSecret = await r.run([...provisionArgs(r.dir), '--devices', 'AAAAAAAA']);
    expect(noSecret.code).toBe(EXIT.USAGE);
    expect(noSecret.err).toContain('AAAAAAAA');
    await writeFile(join(r.dir, 'short.txt'), 'short\n');
    const shortPass = await r.run([
      'provision',
      '--ssid',
      'LabNet',
      '--passphrase-file',
      join(r.dir, 'short.txt'),
      '--manifest',
      join(r.dir, 'manifest.csv'),
    ]);
    expect(shortPass.err).toContain('INVALID_PASSPHRASE');
    const badQr = await r.run([
      'provision',
      '--ssid',
      'LabNet',
      '--passphrase-file',
      join(r.dir, 'pass.txt'),
      '--qr',
      'AIRLIFT2:nope',
    ]);
    expect(badQr.err).toContain('INVALID_QR');
    const unknownAdapter = await r.run([...provisionArgs(r.dir), '--adapter', 'wlan9']);
    expect(unknownAdapter.code).toBe(EXIT.ENVIRONMENT);
    const dry = await r.run([...provisionArgs(r.dir), '--dry-run']);
    expect(dry.code).toBe(EXIT.OK);
    expect(dry.out).toContain('nothing was changed');
    expect(r.fleet.devices[0]?.lab.running.agent.state).toBe('setup');
    expect((await r.run(['report', 'nope'])).code).not.toBe(EXIT.OK);
  });

  it("exits by the kind of error: no such job is the caller's, an adapter another job holds the machine's", async () => {
    const r = await rig({ devices: 1, adapters: 1 });
    const missing = await r.run([
      'resume',
      '20261202-000000-abcd',
      '--passphrase-file',
      join(r.dir, 'pass.txt'),
    ]);
    expect(missing.err).toContain('NOT_FOUND');
    expect(missing.code).toBe(EXIT.USAGE);
    const locksDir = join(r.dir, 'locks');
    process.env['AIRLIFT_LOCKS_DIR'] = locksDir;
    cleanups.push(() => {
      delete process.env['AIRLIFT_LOCKS_DIR'];
      return Promise.resolve();
    });
    const held = await AdapterLocks.acquire(locksDir, ['wlan0'], 'the-app-job');
    cleanups.push(() => held.release());
    const busy = await r.run(provisionArgs(r.dir));
    expect(busy.err).toMatch(/BUSY.*the-app-job/);
    expect(busy.code).toBe(EXIT.ENVIRONMENT);
    // Refused before anything was sent or recorded: the device's networks untouched, no job left.
    expect(r.fleet.devices[0]?.lab.running.agent.listWifi()).toEqual([]);
    expect((await r.run(['jobs'])).out).toContain('No jobs yet');
  });
});
