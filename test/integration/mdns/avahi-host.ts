/**
 * Child of avahi-netns.test.ts: runs a real avahi-daemon inside a host namespace, isolated from the
 * machine's own Avahi. `ip netns exec` gives this process a mount namespace of its own (slave
 * propagation: nothing mounted here shows outside), so the test's temp directories are bound over
 * the daemon's compiled-in paths: `<servicesDir>` on /etc/avahi/services, `<runDir>` on /run.
 * Prints JSON lines: {"ev":"log","line"} for each daemon log line, {"ev":"ready"} once it serves.
 * Run: ip netns exec <ns> node --import tsx avahi-host.ts <servicesDir> <runDir> <config file>
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

const [servicesDir, runDir, config] = process.argv.slice(2);
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
