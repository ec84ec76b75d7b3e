import { parseManifest } from '../../../shared/manifest';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT, main, type CliIo } from '../../../agent/cli/airliftctl';
import { addWifiParams } from '../../../agent/cli/commands/add-wifi';
import { targetFrom } from '../../../main/cli/inputs';
import { ERROR_CODES, errorCodes, exitCodeOf } from '../../../shared/errors';
import { wifiAddParamsSchema } from '../../../shared/protocol/control';
import { parseOrThrow } from '../../../shared/validate';
import { makeVerifierRecord } from '../../../shared/crypto/airlift';
import { fromHex, toHex } from '../../../shared/encoding';
import { startRig, waitFor, waitForState, type Rig } from './control-rig';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function io(stdin = '', signal?: AbortSignal): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]),
      ...(signal ? { signal } : {}),
      // Never read the real machine's config.
      defaultConfigPath: '/nonexistent/airlift/agent.json',
    },
    out: () => out,
    err: () => err,
  };
}

async function ctl(argv: string[], stdin = ''): Promise<Run> {
  const t = io(stdin);
  const code = await main(argv, t.io);
  return { code, stdout: t.out(), stderr: t.err() };
}

let root: string;
let rig: Rig | undefined;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'airliftctl-'));
});
afterEach(async () => {
  await rig?.close();
  rig = undefined;
  await rm(root, { recursive: true, force: true });
});

describe('airliftctl provision-identity', () => {
  it('creates an identity offline, stores only the verifier, and refuses to overwrite it without --force', async () => {
    const stateDir = join(root, 'state');
    const first = await ctl([
      'provision-identity',
      '--state-dir',
      stateDir,
      '--iterations',
      '1000',
      '--json',
    ]);
    expect(first.code).toBe(EXIT.OK);
    const made = JSON.parse(first.stdout) as {
      deviceId: string;
      setupSecret: string;
      qr: string;
      setupSsid: string;
      iterations: number;
    };
    expect(made.deviceId).toMatch(/^[A-Z2-7]{8}$/);
    expect(made.setupSecret).toMatch(/^[A-Z2-7]{26}$/);
    expect(made.qr).toBe(`AIRLIFT1:${made.deviceId}:${made.setupSecret}`);
    expect(made.setupSsid).toBe(`Airlift-${made.deviceId}`);

    const stored = JSON.parse(await readFile(join(stateDir, 'identity.json'), 'utf8')) as {
      deviceId: string;
      w0: string;
      L: string;
      salt: string;
      iterations: number;
    };
    expect(JSON.stringify(stored)).not.toContain(made.setupSecret);
    expect(stored).toMatchObject({ deviceId: made.deviceId, iterations: 1000 });
    // The stored verifier is the one for the printed secret.
    const again = makeVerifierRecord(made.setupSecret, made.deviceId, {
      iterations: 1000,
      salt: fromHex(stored.salt),
    });
    expect(toHex(again.w0)).toBe(stored.w0);
    expect(toHex(again.L)).toBe(stored.L);
    // The manifest row the factory keeps carries the salt hint the station precomputes with.
    const row = (JSON.parse(first.stdout) as { manifestRow: string }).manifestRow;
    const entry = parseManifest(`deviceId,setupSecret,salt,iter\n${row}\n`).entries[0];
    expect(entry).toMatchObject({ deviceId: made.deviceId, setupSecret: made.setupSecret });
    expect(entry?.extra).toEqual({ salt: stored.salt, iter: '1000' });

    const refused = await ctl(['provision-identity', '--state-dir', stateDir, '--iterations', '1000']);
    // BAD_REQUEST is the caller's mistake (kind user): exit 2, like any usage error.
    expect(refused.code).toBe(EXIT.USAGE);
    expect(refused.stderr).toMatch(/^error BAD_REQUEST: .*already has an identity/);
    expect(JSON.parse(await readFile(join(stateDir, 'identity.json'), 'utf8'))).toMatchObject({
      deviceId: made.deviceId,
    });

    const forced = await ctl([
      'provision-identity',
      '--state-dir',
      stateDir,
      '--iterations',
      '1000',
      '--force',
      '--label',
    ]);
    expect(forced.code).toBe(EXIT.OK);
    const newId = /Device ID:\s+([A-Z2-7]{8})/.exec(forced.stdout)?.[1];
    expect(newId).toBeDefined();
    expect(forced.stdout).toMatch(/Setup secret:\s+([A-Z2-7]{4} ){6}[A-Z2-7]{2}\n/);
    expect(forced.stdout).toContain(`AIRLIFT1:${newId ?? ''}:`);
    expect(forced.stdout).toMatch(/\+-+\+\n\| Airlift device\s+[A-Z2-7]{8}\s+\|/);
    expect(forced.stdout).toContain('Replaced the previous identity');
  });

  it('validates --iterations as usage', async () => {
    const r = await ctl(['provision-identity', '--state-dir', join(root, 's'), '--iterations', '10']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('iterations');
  });
});

describe('airliftctl against a running agent', () => {
  async function provisionedRig(): Promise<{ rig: Rig; deviceId: string }> {
    const stateDir = join(root, 'state');
    const made = await ctl(['provision-identity', '--state-dir', stateDir, '--iterations', '1000', '--json']);
    const { deviceId } = JSON.parse(made.stdout) as { deviceId: string };
    rig = await startRig({ stateDir, withDoctor: true });
    await waitForState(rig.agent, 'setup');
    return { rig, deviceId };
  }

  it('status --json shows the provisioned identity; status prints a table', async () => {
    const { rig: r, deviceId } = await provisionedRig();
    const json = await ctl(['--socket', r.socketPath, 'status', '--json']);
    expect(json.code).toBe(EXIT.OK);
    expect(JSON.parse(json.stdout)).toMatchObject({
      state: 'setup',
      setupAp: { up: true, ssid: `Airlift-${deviceId}` },
      hostname: `airlift-${deviceId.toLowerCase()}`,
    });
    const human = await ctl(['status', '--socket', r.socketPath]);
    expect(human.code).toBe(EXIT.OK);
    expect(human.stdout).toMatch(/^State\s+setup/m);
    expect(human.stdout).toMatch(new RegExp(`^Setup AP\\s+up\\s+Airlift-${deviceId}`, 'm'));
  });

  it('finds the socket through --config', async () => {
    const { rig: r } = await provisionedRig();
    const config = join(root, 'agent.json');
    await writeFile(config, JSON.stringify({ control: { socket: r.socketPath } }));
    expect((await ctl(['--config', config, 'status', '--json'])).code).toBe(EXIT.OK);
    await writeFile(config, JSON.stringify({ control: { sockt: r.socketPath } }));
    const bad = await ctl(['--config', config, 'status']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/^error INVALID_CONFIG: /);
  });

  it('add-wifi reads the passphrase from stdin, joins LabNet; list-wifi never shows it', async () => {
    const { rig: r } = await provisionedRig();
    const add = await ctl(
      ['--socket', r.socketPath, 'add-wifi', '--ssid', 'LabNet', '--passphrase-stdin'],
      'correct horse\n',
    );
    expect(add.stderr).toBe('');
    expect(add.code).toBe(EXIT.OK);
    expect(add.stdout).toMatch(/Trying LabNet \(attempt [0-9a-f]{16}/);
    await waitForState(r.agent, 'online');
    const list = await ctl(['--socket', r.socketPath, 'list-wifi', '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject({ networks: [{ ssid: 'LabNet', security: 'wpa2-psk' }] });
    expect(list.stdout).not.toContain('correct horse');
    const table = await ctl(['--socket', r.socketPath, 'list-wifi']);
    expect(table.stdout).toMatch(/^ID\s+SSID\s+SECURITY/);
    expect(table.stdout).not.toContain('correct horse');

    // Online now: another network is only saved unless --now.
    const secretFile = join(root, 'pass');
    await writeFile(secretFile, 'latin one\n', { mode: 0o600 });
    await chmod(secretFile, 0o600);
    const later = await ctl([
      '--socket',
      r.socketPath,
      'add-wifi',
      '--ssid-hex',
      'caf9',
      '--passphrase-file',
      secretFile,
    ]);
    expect(later.code).toBe(EXIT.OK);
    expect(later.stderr).toBe('');
    expect(later.stdout).toContain('Saved');
    expect(r.agent.status().ssid).toBe('LabNet');

    const forget = await ctl(['--socket', r.socketPath, 'forget-wifi', '--ssid-hex', 'caf9']);
    expect(forget).toMatchObject({ code: EXIT.OK, stdout: 'Forgot 1 network\n' });
    const none = await ctl(['--socket', r.socketPath, 'forget-wifi', '--ssid', 'Nowhere']);
    expect(none.code).toBe(EXIT.USAGE);
    expect(none.stderr).toMatch(/^error NETWORK_NOT_FOUND: /);
  });

  it('add-wifi never takes a secret from argv and never guesses an open network', async () => {
    const { rig: r } = await provisionedRig();
    const argvSecret = await ctl([
      '--socket',
      r.socketPath,
      'add-wifi',
      '--ssid',
      'LabNet',
      '--passphrase',
      'correct horse',
    ]);
    expect(argvSecret.code).toBe(EXIT.USAGE);
    const noSource = await ctl(['--socket', r.socketPath, 'add-wifi', '--ssid', 'LabNet']);
    expect(noSource.code).toBe(EXIT.USAGE);
    expect(noSource.stderr).toContain('--passphrase-stdin');
    const both = await ctl([
      '--socket',
      r.socketPath,
      'add-wifi',
      '--ssid',
      'a',
      '--ssid-hex',
      '61',
      '--security',
      'open',
    ]);
    expect(both.code).toBe(EXIT.USAGE);
    const short = await ctl(
      ['--socket', r.socketPath, 'add-wifi', '--ssid', 'LabNet', '--passphrase-stdin'],
      'short\n',
    );
    expect(short.code).toBe(EXIT.USAGE);
    expect(short.stderr).toMatch(/^error INVALID_PASSPHRASE: /);
    expect(short.stderr).not.toContain('short\n');
    expect(r.agent.listWifi()).toEqual([]);
    const missingFile = await ctl([
      '--socket',
      r.socketPath,
      'add-wifi',
      '--ssid',
      'LabNet',
      '--passphrase-file',
      join(root, 'none'),
    ]);
    expect(missingFile.code).toBe(EXIT.USAGE);
    expect(missingFile.stderr).toContain('ENOENT');
  });

  it('report-app shows up in status; reset-lockout resets the limits', async () => {
    const { rig: r } = await provisionedRig();
    const rep = await ctl([
      '--socket',
      r.socketPath,
      'report-app',
      'printer',
      '--state',
      'degraded',
      '--code',
      '4',
      '--connectivity',
      'ok',
    ]);
    expect(rep).toMatchObject({ code: EXIT.OK, stdout: 'Reported printer: degraded (4)\n' });
    expect(r.agent.status().apps).toEqual([
      expect.objectContaining({ name: 'printer', connectivity: { state: 'ok', code: 0 } }),
    ]);
    const status = await ctl(['--socket', r.socketPath, 'status']);
    expect(status.stdout).toMatch(/^printer\s+degraded\s+4\s+ok \(0\)/m);
    expect(
      (await ctl(['--socket', r.socketPath, 'report-app', 'printer', '--state', 'fine', '--code', '0'])).code,
    ).toBe(EXIT.USAGE);
    expect((await ctl(['--socket', r.socketPath, 'report-app', 'printer', '--state', 'ok'])).code).toBe(
      EXIT.USAGE,
    );
    expect(
      (await ctl(['--socket', r.socketPath, 'report-app', 'bad name', '--state', 'ok', '--code', '0'])).code,
    ).toBe(EXIT.USAGE);

    expect(r.sessions.limits.lifetimeFailures).toBe(100);
    expect((await ctl(['--socket', r.socketPath, 'reset-lockout'])).code).toBe(EXIT.OK);
    expect(r.sessions.limits.lifetimeFailures).toBe(0);
  });

  it('scan, start-ap and stop-ap', async () => {
    const { rig: r } = await provisionedRig();
    const scan = await ctl(['--socket', r.socketPath, 'scan', '--force', '--json']);
    expect(
      (JSON.parse(scan.stdout) as { networks: { ssid: string }[] }).networks.map((n) => n.ssid),
    ).toContain('LabNet');
    const table = await ctl(['--socket', r.socketPath, 'scan']);
    expect(table.stdout).toMatch(/^LabNet\s+-45 dBm\s+wpa2-psk/m);
    expect((await ctl(['--socket', r.socketPath, 'stop-ap'])).code).toBe(EXIT.OK);
    await waitForState(r.agent, 'setup');
    expect((await ctl(['--socket', r.socketPath, 'start-ap'])).code).toBe(EXIT.OK);
  });

  it('doctor asks the agent and prints every check id', async () => {
    const { rig: r } = await provisionedRig();
    const json = await ctl(['--socket', r.socketPath, 'doctor', '--json']);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(report.checks.map((c) => c.id)).toEqual([
      'identity.provisioned',
      'state.dir',
      'state.files',
      'session.limits',
      'clock.sane',
      'config.valid',
      'agent.running',
    ]);
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(json.code).toBe(EXIT.OK);
    const human = await ctl(['--socket', r.socketPath, 'doctor']);
    expect(human.stdout).toMatch(/^PASS\s+identity\.provisioned\s+Device [A-Z2-7]{8}/m);
    expect(human.stdout).toMatch(/^PASS\s+agent\.running/m);
  });

  it('events follows the agent until interrupted', async () => {
    const { rig: r } = await provisionedRig();
    const ac = new AbortController();
    const t = io('', ac.signal);
    const running = main(['--socket', r.socketPath, 'events', '--json'], t.io);
    await waitFor(() => r.agent.events.size > 0, 'subscriber');
    await ctl(
      ['--socket', r.socketPath, 'add-wifi', '--ssid', 'LabNet', '--passphrase-stdin'],
      'correct horse',
    );
    await waitFor(() => t.out().includes('"state":"online"'), 'online event');
    ac.abort();
    expect(await running).toBe(EXIT.OK);
    const events = t
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events.map((e) => e.type)).toContain('attempt');

    // The agent going away ends it with "not running".
    const t2 = io('', new AbortController().signal);
    const second = main(['--socket', r.socketPath, 'events'], t2.io);
    await waitFor(() => t2.err().includes('Following events'), 'second subscriber');
    await r.control.close();
    expect(await second).toBe(EXIT.ENVIRONMENT);
    expect(t2.err()).toContain('error UNREACHABLE: the agent closed the connection\n');
  });
});

describe('airliftctl exit codes', () => {
  it('come from the error table: user 2, environment 3, bug 1', () => {
    for (const code of errorCodes) {
      const kind = ERROR_CODES[code].kind;
      expect(exitCodeOf(code)).toBe(
        kind === 'user' ? EXIT.USAGE : kind === 'environment' ? EXIT.ENVIRONMENT : EXIT.FAILED,
      );
    }
    // NOT_FOUND is the caller's mistake in the table, and so on the command line.
    expect(exitCodeOf('NOT_FOUND')).toBe(EXIT.USAGE);
    expect(exitCodeOf('UNREACHABLE')).toBe(EXIT.ENVIRONMENT);
    expect(exitCodeOf('INTERNAL')).toBe(EXIT.FAILED);
    expect(EXIT).toEqual({ OK: 0, FAILED: 1, USAGE: 2, ENVIRONMENT: 3 });
  });
});

describe('a typed secret is classified the same way by both CLIs', () => {
  const hex = 'AB'.repeat(32);
  it.each([undefined, 'wpa2-psk', 'wpa3-sae', 'open'] as const)(
    '--security %s with 64 hex digits',
    (security) => {
      const ctlParams = addWifiParams({ ssid: 'LabNet', ...(security ? { security } : {}) }, hex);
      const station = (): unknown => targetFrom({ ssid: 'LabNet', ...(security ? { security } : {}) }, hex);
      if (security === 'open') {
        // Refused by both, on the same field.
        expect(() => parseOrThrow(wifiAddParamsSchema, ctlParams, 'network')).toThrow(/passphrase: /);
        expect(station).toThrow(/passphrase: /);
        return;
      }
      const ctl = parseOrThrow(wifiAddParamsSchema, ctlParams, 'network').network;
      expect(ctl).toEqual(station());
      // WPA2: a raw PSK; WPA3-SAE: a password like any other (what `airlift provision` refused once).
      expect(ctl).toEqual(
        security === 'wpa3-sae'
          ? expect.objectContaining({ security: 'wpa3-sae', passphrase: hex })
          : expect.objectContaining({ security: 'wpa2-psk', psk: hex.toLowerCase() }),
      );
    },
  );
});

describe('airliftctl without an agent', () => {
  it('exits 3 with an error line when the agent is not running', async () => {
    const r = await ctl(['--socket', join(root, 'no.sock'), 'status']);
    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toMatch(/^error UNREACHABLE: The agent is not running/);
  });

  it('doctor checks locally and fails agent.running', async () => {
    const config = join(root, 'agent.json');
    await writeFile(
      config,
      JSON.stringify({ stateDir: join(root, 'state'), control: { socket: join(root, 'no.sock') } }),
    );
    const r = await ctl(['--config', config, 'doctor', '--json']);
    expect(r.code).toBe(EXIT.FAILED);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(report.ok).toBe(false);
    expect(Object.fromEntries(report.checks.map((c) => [c.id, c.status]))).toMatchObject({
      'identity.provisioned': 'fail',
      'config.valid': 'pass',
      'agent.running': 'fail',
    });
  });

  it('exits 2 on usage errors and 0 on --help', async () => {
    expect((await ctl([])).code).toBe(EXIT.USAGE);
    expect((await ctl(['frobnicate'])).code).toBe(EXIT.USAGE);
    expect((await ctl(['forget-wifi'])).code).toBe(EXIT.USAGE);
    expect((await ctl(['forget-wifi', 'abc', '--ssid', 'x'])).code).toBe(EXIT.USAGE);
    const help = await ctl(['--help']);
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toContain('provision-identity');
  });
});
