/** The `airlift` executable: the CLI with this machine's Wi-Fi adapters, mDNS and HTTP. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { MdnsBrowser } from '../discovery/mdns-browser';
import { UndiciDeviceTransport } from '../engine/device-http';
import { machineAdapters } from '../station/machine-env';
import { main, type CliIo, type StationEnv } from './airlift';

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** Ask on the terminal without echoing what is typed (a passphrase). */
function promptHidden(question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  process.stderr.write(question);
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin,
  ...(process.stdin.isTTY ? { prompt: promptHidden } : {}),
  interrupted: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
};

// Device answers capped at 1 MiB, no redirects, one connection pool per network (decision 0011).
const transport = new UndiciDeviceTransport();

const env = (): StationEnv => ({
  adapters: machineAdapters(),
  browser: () => new MdnsBrowser({ onWarning: (m) => process.stderr.write(`mdns: ${m}\n`) }),
  transport,
});

main(process.argv.slice(2), io, env)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`airlift: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  )
  .finally(() => transport.close());
