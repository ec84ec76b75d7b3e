/**
 * Child of avahi-netns.test.ts: runs a real avahi-daemon inside a host namespace, isolated from the
 * machine's own Avahi. `ip netns exec` gives this process a mount namespace of its own (slave
 * propagation: nothing mounted here shows outside), so the test's temp directories are bound over
 * the daemon's compiled-in paths: `<servicesDir>` on /etc/avahi/services, `<runDir>` on /run.
 * Prints JSON lines: {"ev":"log","line"} for each daemon log line, {"ev":"ready"} once it serves.
 * With `dbus` as a fourth argument, a private system bus runs first at /run/dbus/system_bus_socket
 * (so `<runDir>/dbus/system_bus_socket` outside), for a daemon configured with enable-dbus=yes and
 * for clients such as avahi-publish.
 * Run: ip netns exec <ns> node --import tsx avahi-host.ts <servicesDir> <runDir> <config file> [dbus]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [servicesDir, runDir, config, withBus] = process.argv.slice(2);
if (servicesDir === undefined || runDir === undefined || config === undefined) {
  throw new Error('usage: avahi-host.ts <servicesDir> <runDir> <config file>');
}

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

for (const [source, target] of [
  [servicesDir, '/etc/avahi/services'],
  [runDir, '/run'],
] as const) {
  const r = spawnSync('mount', ['--bind', source, target], { encoding: 'utf8' });
  if (r.status !== 0) {
    emit({ ev: 'error', message: `mount --bind ${source} ${target}: ${r.stderr || String(r.error)}` });
    process.exit(1);
  }
}

// A system bus of our own: no user switch, everyone may own and call anything.
const BUS_CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;
if (withBus === 'dbus') {
  mkdirSync('/run/dbus', { recursive: true });
  writeFileSync('/run/dbus/bus.conf', BUS_CONFIG);
  const bus = spawn('dbus-daemon', ['--nofork', '--nopidfile', '--config-file=/run/dbus/bus.conf'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  createInterface({ input: bus.stderr }).on('line', (line) => emit({ ev: 'log', line: `dbus: ${line}` }));
  process.on('exit', () => bus.kill('SIGTERM'));
  for (let i = 0; i < 100 && !existsSync('/run/dbus/system_bus_socket'); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Foreground, as root, no chroot: the temp directories need no avahi user and no chroot copy.
const daemon = spawn(
  'avahi-daemon',
  ['-f', config, '--no-drop-root', '--no-chroot', '--no-rlimits', '--no-proc-title'],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
for (const stream of [daemon.stdout, daemon.stderr]) {
  createInterface({ input: stream }).on('line', (line) => {
    emit({ ev: 'log', line });
    if (line.includes('Server startup complete')) emit({ ev: 'ready' });
  });
}
daemon.on('error', (err) => {
  emit({ ev: 'error', message: err.message });
  process.exit(1);
});
daemon.on('exit', (code, signal) => {
  emit({ ev: 'daemon-exit', code, signal });
  process.exit(0);
});
const stopDaemon = (): void => {
  daemon.kill('SIGTERM');
};
process.on('SIGTERM', stopDaemon);
process.on('SIGINT', stopDaemon);
process.stdin.resume();
process.stdin.on('end', stopDaemon);
