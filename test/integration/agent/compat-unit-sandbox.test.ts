/**
 * The legacy clients' own socket paths under the shipped unit: OctoPrint-Netconnectd's default
 * `/var/run/netconnectd.sock` and thingymcconfig's client library's fixed
 * `/tmp/thingymcconfig.socket`, reached by unprivileged users in the configured groups.
 *
 * The agent runs in a mount namespace laid out from the shipped files, as systemd would lay it out:
 * fresh /run and /tmp made read-only (ProtectSystem=strict), the runtime directory with the unit's
 * RuntimeDirectoryMode left writable, the package's tmpfiles.d applied, the unit's UMask, its
 * TMPDIR and nothing but its CapabilityBoundingSet. The clients enter that namespace as other
 * users (nsenter, setpriv) and speak as the plugin's `_send_message` and client_glib.c do: Python
 * sockets, a NUL-terminated JSON message read back in 16-byte chunks; the app socket's bytes
 * compared with the ctrl.h constants written out by hand.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildLines, type LineEvent } from '../mdns/child-lines';
import { raw, waitFor } from '../../helpers/lab';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
/** The agent's host script, relative to the checkout (bound at /run/sandbox/repo in the sandbox). */
const HOST = 'test/integration/agent/unit-sandbox-host.ts';
const UNIT = join(REPO, 'packaging/airliftd.service');
const TMPFILES = join(REPO, 'packaging/tmpfiles.d/airlift-agent.conf');
const PYTHON = '/usr/bin/python3';

/** OctoPrint's user (in the socket's group), an app's user (in the app socket's), and a stranger. */
const OCTOPRINT = { uid: 4243, gid: 4243, groups: [4242] };
const APP_USER = { uid: 4246, gid: 4246, groups: [4245] };
const STRANGER = { uid: 4244, gid: 4244, groups: [4244] };

const tools = ['unshare', 'nsenter', 'setpriv', 'mount', 'systemd-tmpfiles'];
const missing = [
  ...(process.getuid?.() === 0 ? [] : ['root']),
  ...tools.filter((t) => spawnSync(t, ['--version']).status !== 0),
  ...(spawnSync(PYTHON, ['--version']).status === 0 ? [] : [PYTHON]),
];
if (missing.length > 0)
  console.warn(
    `\n*** SKIPPING the legacy socket paths under the shipped unit: needs ${missing.join(', ')} ***\n`,
  );

/** `Key=value` lines of the unit's [Service] section (the last one wins, as systemd reads them). */
function unitSettings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

/**
 * Lays out the namespace, then runs the agent with the unit's umask, TMPDIR and capabilities. The
 * checkout, the state directory and the tmpfiles.d file are bound under /run/sandbox first: the
 * checkout may itself live under the /tmp that is replaced here.
 */
const SANDBOX = `
set -e
mount --bind "$GROUP_FILE" /etc/group
mount -t tmpfs -o mode=0755 airlift-sandbox-run /run
mkdir -p /run/sandbox/repo /run/sandbox/state
mount --bind "$REPO" /run/sandbox/repo
mount --bind "$STATE" /run/sandbox/state
cp "$TMPFILES" /run/sandbox/airlift-agent.conf
mount -t tmpfs -o mode=1777 airlift-sandbox-tmp /tmp
mkdir -m "$RUNTIME_MODE" /run/airlift
systemd-tmpfiles --create /run/sandbox/airlift-agent.conf
mount --bind /run/airlift /run/airlift
mount -o remount,bind,ro /run
mount -o remount,bind,ro /tmp
umask "$UMASK"
export TMPDIR="$UNIT_TMPDIR"
cd /run/sandbox/repo
exec setpriv --inh-caps=-all --bounding-set="-all,$CAPS" "$NODE" --import tsx "$HOST" /run/sandbox/state "$COMPAT"
`;

/** One netconnectd message, sent and read back as the plugin's `_send_message` does. */
const NETCONNECTD_CLIENT = `
import errno, json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(json.dumps({"oserror": errno.errorcode.get(e.errno, str(e.errno))}))
    sys.exit(0)
s.sendall(sys.argv[2].encode("utf8") + b"\\0")
data = b""
while not data.endswith(b"\\0"):
    chunk = s.recv(16)
    if not chunk:
        break
    data += chunk
s.close()
print(data.rstrip(b"\\0").decode("utf8"))
`;

/**
 * An app on thingymcconfig's client library: reads what the daemon sends on connect (argv[2]
 * bytes), prints it as hex, writes argv[3] (hex), and stays connected until its stdin closes.
 */
const THINGY_APP = `
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("oserror " + errno.errorcode.get(e.errno, str(e.errno)), flush=True)
    sys.exit(0)
want = int(sys.argv[2])
data = b""
while len(data) < want:
    chunk = s.recv(want - len(data))
    if not chunk:
        break
    data += chunk
print(data.hex(), flush=True)
s.sendall(bytes.fromhex(sys.argv[3]))
sys.stdin.read()
s.close()
`;

type User = { uid: number; gid: number; groups: number[] };

function asUser(pid: number, user: User, script: string, args: string[]): string[] {
  return [
    `--mount=/proc/${pid}/ns/mnt`,
    '--',
    'setpriv',
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    `--groups=${user.groups.join(',')}`,
    '--',
    PYTHON,
    '-c',
    script,
    ...args,
  ];
}

const bytes = (...b: (number | string)[]): string =>
  Buffer.concat(b.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : Buffer.from([x])))).toString(
    'hex',
  );

describe.skipIf(missing.length > 0)('the legacy clients’ socket paths under the shipped unit', () => {
  let scratch: string;
  let agent: ChildLines | undefined;
  let ready: LineEvent;
  const settings = unitSettings(readFileSync(UNIT, 'utf8'));

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'airlift-unit-sandbox-'));
    await mkdir(join(scratch, 'state'), { mode: 0o700 });
    const groups = readFileSync('/etc/group', 'utf8').trimEnd();
    await writeFile(join(scratch, 'group'), `${groups}\noctoprint:x:4242:\nthingyapps:x:4245:\n`);
    const caps = (settings.get('CapabilityBoundingSet') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)
      .join(',');
    const compat = {
      netconnectd: { socket: '/var/run/netconnectd.sock', group: 'octoprint' },
      thingymcconfig: {
        socket: '/tmp/thingymcconfig.socket',
        socketGroup: 'thingyapps',
        apps: ['myapplication'],
        port: 0,
      },
    };
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', SANDBOX], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        GROUP_FILE: join(scratch, 'group'),
        STATE: join(scratch, 'state'),
        RUNTIME_MODE: settings.get('RuntimeDirectoryMode') ?? '',
        TMPFILES,
        UMASK: settings.get('UMask') ?? '',
        UNIT_TMPDIR: (settings.get('Environment') ?? '').replace(/^TMPDIR=/, ''),
        REPO,
        NODE: process.execPath,
        HOST,
        CAPS: caps,
        COMPAT: JSON.stringify(compat),
      },
    });
    agent = new ChildLines('agent under the unit', child);
    ready = await agent.waitFor('ready', (e) => e.ev === 'ready', 30_000);
  }, 60_000);

  afterAll(async () => {
    const child = agent?.child;
    if (child && agent?.exited === undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin?.end();
      await exited;
    }
    await rm(scratch, { recursive: true, force: true });
  });

  it('the sandbox is the unit’s: ProtectSystem=strict, the host’s /tmp, the runtime directory writable', () => {
    // The layout above reproduces these settings; if the unit changes them, so must the sandbox.
    expect(settings.get('ProtectSystem')).toBe('strict');
    expect(settings.get('PrivateTmp')).toBe('no');
    expect(settings.get('RuntimeDirectory')).toBe('airlift');
    expect(settings.get('ReadWritePaths')?.split(/\s+/)).toContain('/run/airlift');
    // Both surfaces started at their clients' paths, through the package's links.
    expect(ready).toMatchObject({
      netconnectd: '/run/airlift/netconnectd.sock',
      thingymcconfigSocket: '/run/airlift/thingymcconfig.socket',
    });
    expect(agent?.events.filter((e) => e.ev === 'log')).toEqual([]);
  });

  function netconnectd(user: User, cmd: string, params: Record<string, unknown> = {}) {
    const pid = agent?.child.pid ?? 0;
    const r = spawnSync(
      'nsenter',
      asUser(pid, user, NETCONNECTD_CLIENT, ['/var/run/netconnectd.sock', JSON.stringify({ [cmd]: params })]),
      { cwd: '/', encoding: 'utf8', timeout: 20_000 },
    );
    if (r.status !== 0) throw new Error(`client failed (${String(r.status)}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  it("OctoPrint's user reaches /var/run/netconnectd.sock and configures Wi-Fi as the plugin does", () => {
    expect(netconnectd(OCTOPRINT, 'status')).toMatchObject({
      result: { connections: { ap: true, wifi: false }, wifi: { valid_config: false } },
    });
    expect(
      netconnectd(OCTOPRINT, 'config_wifi', { ssid: 'LabNet', psk: 'correct horse', force: false }),
    ).toEqual({ result: 'configured wifi as "netconnectd_wifi"' });
    expect(netconnectd(OCTOPRINT, 'start_wifi')).toEqual({ result: 'connected to wifi' });
    expect(netconnectd(OCTOPRINT, 'status')).toMatchObject({
      result: { connections: { ap: false, wifi: true }, wifi: { current_ssid: 'LabNet' } },
    });
  });

  it('a user outside the group is refused by the socket’s mode', () => {
    expect(netconnectd(STRANGER, 'status')).toEqual({ oserror: 'EACCES' });
  });

  it('an app at /tmp/thingymcconfig.socket gets the bytes of ctrl.h, and its report reaches /status', async () => {
    const pid = agent?.child.pid ?? 0;
    // CONFIG_APPS (1), 1 field + terminator; field CONFIG_APPS_APP (1), buflen 13, index 1, the name;
    // terminator (255). Then NETWORKSTATEUPDATE (2): SUPPLICANTSTATE (1) state 4 (ACTIVE: the agent
    // is on LabNet after the test above), DHCPSTATE (2) state 4 (ACTIVE: it has a lease).
    const hello = bytes(
      ...[1, 2, 0, 0],
      ...[1, 13, 1, 0],
      'myapplication',
      ...[255, 0, 0, 0],
      ...[2, 3, 0, 0],
      ...[1, 0, 4, 0],
      ...[2, 0, 4, 0],
      ...[255, 0, 0, 0],
    );
    // thingymcconfig_client_sendappstate for index 1: APPSTATEUPDATE (3), APPINDEX (1) index 1,
    // APPSTATE (2) state OK (1) error 0, terminator.
    const appState = bytes(...[3, 3, 0, 0], ...[1, 0, 1, 0], ...[2, 0, 1, 0], ...[255, 0, 0, 0]);
    const app = spawn(
      'nsenter',
      asUser(pid, APP_USER, THINGY_APP, ['/tmp/thingymcconfig.socket', String(hello.length / 2), appState]),
      { cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((r) => app.once('exit', r));
    let out = '';
    app.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const first = await waitFor(
      () => out,
      (o) => o.includes('\n'),
      'what the daemon sends on connect',
    );
    expect(first.trim()).toBe(hello);

    const port = Number(ready['thingymcconfigPort']);
    const appsOf = async () =>
      (JSON.parse((await raw(`http://127.0.0.1:${port}`, { path: '/status' })).body) as { apps: unknown[] })
        .apps;
    await waitFor(appsOf, (a) => JSON.stringify(a[0]).includes('"OK"'), 'appstate OK in /status');
    expect(await appsOf()).toEqual([
      {
        name: 'myapplication',
        appstate: { state: 'OK', code: 1 },
        connectivity: { state: 'UNKNOWN', code: 0 },
      },
    ]);
    app.stdin.end();
    expect(await exited).toBe(0);
    await waitFor(appsOf, (a) => JSON.stringify(a[0]).includes('"appstate":{"state":"UNKNOWN"'), 'UNKNOWN');
  });

  it('a user outside the app socket’s group is refused', () => {
    const pid = agent?.child.pid ?? 0;
    const r = spawnSync(
      'nsenter',
      asUser(pid, STRANGER, THINGY_APP, ['/tmp/thingymcconfig.socket', '1', '']),
      {
        cwd: '/',
        encoding: 'utf8',
        input: '',
        timeout: 20_000,
      },
    );
    expect(r.stdout.trim()).toBe('oserror EACCES');
  });
});
