/**
 * A real Avahi peer inside a network namespace, for the network lab's tests and benchmarks: a
 * private D-Bus system bus and avahi-daemon, then `avahi-browse` and `avahi-publish` on request —
 * Debian's own tools, unchanged. `ip netns exec` gives this process a mount namespace of its own,
 * so temp directories are bound over /run (the bus socket, the daemon's pid and socket) and
 * /etc/avahi/services: the machine's own D-Bus and Avahi, if any, are never touched.
 *
 * Run: ip netns exec <ns> node --import tsx avahi-peer-host.ts <dir> <interface> <hostname>
 * stdin, one JSON command a line:
 *   {"cmd":"browse","type":"_airlift._tcp"}  → {"ev":"browse","line":"=;eth0;IPv4;…"} per line
 *   {"cmd":"publish","name":…,"type":…,"port":…,"txt":["k=v",…]} → {"ev":"published","name":…}
 * stdout: {"ev":"ready"} once the daemon serves, then the events above, each with `t` (epoch ms).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [dir, iface, hostname] = process.argv.slice(2);
if (dir === undefined || iface === undefined || hostname === undefined)
  throw new Error('usage: avahi-peer-host.ts <dir> <interface> <hostname>');

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};
const children: ChildProcess[] = [];
const fail = (message: string): never => {
  emit({ ev: 'error', message });
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
};

const runDir = join(dir, 'run');
const services = join(dir, 'services');
mkdirSync(join(runDir, 'dbus'), { recursive: true });
mkdirSync(services, { recursive: true });
for (const [source, target] of [
  [runDir, '/run'],
  [services, '/etc/avahi/services'],
] as const) {
  const r = spawnSync('mount', ['--bind', source, target], { encoding: 'utf8' });
  if (r.status !== 0) fail(`mount --bind ${source} ${target}: ${r.stderr || String(r.error)}`);
}

const busConf = join(dir, 'bus.conf');
writeFileSync(
  busConf,
  `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
);
const avahiConf = join(dir, 'avahi-daemon.conf');
writeFileSync(
  avahiConf,
  [
    '[server]',
    `host-name=${hostname}`,
    'use-ipv4=yes',
    'use-ipv6=no',
    `allow-interfaces=${iface}`,
    'enable-dbus=yes',
    '[wide-area]',
    'enable-wide-area=no',
    '[publish]',
    'publish-hinfo=no',
    'publish-workstation=no',
    '',
  ].join('\n'),
);

const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/run/dbus/system_bus_socket', LC_ALL: 'C' };
const start = (file: string, args: string[]): ChildProcess => {
  const c = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(c);
  c.on('error', (err) => fail(`${file}: ${err.message}`));
  return c;
};

const bus = start('dbus-daemon', ['--nofork', '--print-address', `--config-file=${busConf}`]);
await new Promise<void>((resolve) => {
  if (bus.stdout) createInterface({ input: bus.stdout }).once('line', () => resolve());
  bus.once('exit', (code) => fail(`dbus-daemon exited (${String(code)})`));
});

const daemon = start('avahi-daemon', [
  '-f',
  avahiConf,
  '--no-drop-root',
  '--no-chroot',
  '--no-rlimits',
  '--no-proc-title',
]);
for (const stream of [daemon.stdout, daemon.stderr]) {
  if (!stream) continue;
  createInterface({ input: stream }).on('line', (line) => {
    emit({ ev: 'log', line });
    if (line.includes('Server startup complete')) emit({ ev: 'ready' });
  });
}
daemon.once('exit', (code) => fail(`avahi-daemon exited (${String(code)})`));

type Command =
  | { cmd: 'browse'; type: string }
  | { cmd: 'publish'; name: string; type: string; port: number; txt: string[] };

createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line) as Command;
  if (c.cmd === 'browse') {
    const browse = start('avahi-browse', ['-p', '-r', '-k', c.type]);
    if (browse.stdout)
      createInterface({ input: browse.stdout }).on('line', (l) => emit({ ev: 'browse', line: l }));
    if (browse.stderr)
      createInterface({ input: browse.stderr }).on('line', (l) => emit({ ev: 'browse-stderr', line: l }));
  } else {
    const publish = start('avahi-publish', ['-s', c.name, c.type, String(c.port), ...c.txt]);
    for (const stream of [publish.stdout, publish.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (l) => {
        emit({ ev: 'publish-log', line: l });
        if (l.startsWith('Established under name')) emit({ ev: 'published', name: c.name });
      });
    }
  }
});

const stop = (): void => {
  for (const c of [...children].reverse()) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
