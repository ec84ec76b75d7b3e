/**
 * A private D-Bus daemon in a temp directory, and `busctl monitor` on it: lets tests hand our
 * busctl argument arrays to the real busctl and read back the message it marshalled. Nothing
 * answers on this bus, so calls fail with "not provided by any .service files" after sending.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface PrivateBus {
  address: string;
  /** Runs busctl with `--system` replaced by this bus's address. */
  busctl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The payload of the next method call to `member` seen on the bus while `action` runs. */
  capture(member: string, action: () => Promise<unknown>): Promise<{ type: string; data: unknown[] }>;
  close(): Promise<void>;
}

const CONFIG = (
  socket: string,
) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

function run(
  file: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { timeout: 10_000, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function startPrivateBus(): Promise<PrivateBus> {
  const dir = await mkdtemp(join(tmpdir(), 'airlift-bus-'));
  const socket = join(dir, 'bus');
  await writeFile(join(dir, 'bus.conf'), CONFIG(socket));
  const daemon = spawn(
    'dbus-daemon',
    ['--nofork', '--print-address', `--config-file=${join(dir, 'bus.conf')}`],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const address = await new Promise<string>((resolve, reject) => {
    daemon.once('error', (err) =>
      reject(new Error(`dbus-daemon did not start (${err.message}): install dbus-daemon`)),
    );
    createInterface({ input: daemon.stdout }).once('line', (line) => resolve(line.trim()));
  });
  const withAddress = (args: readonly string[]) =>
    args.map((a) => (a === '--system' ? `--address=${address}` : a));

  return {
    address,
    busctl: (args) => run('busctl', withAddress(args)),
    async capture(member, action) {
      const monitor = spawn('busctl', [`--address=${address}`, 'monitor', '--json=short'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        const lines = createInterface({ input: monitor.stdout });
        const seen = new Promise<{ type: string; data: unknown[] }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${member} call seen on the bus`)), 10_000);
          lines.on('line', (line) => {
            const msg = JSON.parse(line) as {
              type?: string;
              member?: string;
              payload?: { type: string; data: unknown[] };
            };
            if (msg.type === 'method_call' && msg.member === member && msg.payload) {
              clearTimeout(timer);
              resolve(msg.payload);
            }
          });
        });
        // The monitor is attached once it has said so.
        await new Promise<void>((resolve) =>
          createInterface({ input: monitor.stderr }).once('line', () => resolve()),
        );
        await action();
        return await seen;
      } finally {
        monitor.kill();
      }
    },
    async close() {
      daemon.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
