/** The socket file a killed server leaves behind (SIGKILL: nothing unlinks it), for stale-socket tests. */
import { spawn } from 'node:child_process';

const LISTEN_AND_WAIT =
  "require('node:net').createServer().listen(process.argv[1], () => console.log('ready'))";

/** A Unix socket file at `path` that nothing listens on any more. */
export async function leaveStaleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', LISTEN_AND_WAIT, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
