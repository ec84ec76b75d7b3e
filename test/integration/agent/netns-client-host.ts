/**
 * Child of ap-listeners-netns.test.ts, run inside a client's network namespace: a station-side
 * HTTP client driven by JSON commands on stdin, answering each with `{"ev":"res","id":…}` on stdout.
 *
 * - `{"cmd":"get","id","url"}` → `{ status, body }`, or `{ error }` (the errno code) when no HTTP
 *   answer came: refused, reset, closed without a response, unreachable, or 3 s without one.
 * - `{"cmd":"push","id","baseUrl","networks","commit"?}` → a SPAKE2+ session with the lab device's
 *   secret, then `wifi.set`: `{ result }` or `{ error }` (the Airlift code).
 */
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { deriveProverSecrets } from '../../../shared/crypto/airlift';
import { AirliftError } from '../../../shared/errors';
import { openSession } from '../../../shared/session/client';
import { LAB_ID, LAB_SECRET } from '../../helpers/lab';

type Command =
  | { cmd: 'get'; id: number; url: string }
  | { cmd: 'push'; id: number; baseUrl: string; networks: unknown[]; commit?: 'auto' | 'confirm' };

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

function get(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

async function push(command: Extract<Command, { cmd: 'push' }>): Promise<Record<string, unknown>> {
  try {
    const session = await openSession({
      baseUrl: command.baseUrl,
      deviceId: LAB_ID,
      deriveSecrets: (salt, iter) => deriveProverSecrets(LAB_SECRET, LAB_ID, salt, iter),
      fetch: (url, init) => fetch(url, init),
    });
    const result = await session.callRaw('wifi.set', {
      networks: command.networks,
      commit: command.commit ?? 'auto',
    });
    return { result };
  } catch (err) {
    return { error: err instanceof AirliftError ? err.code : String(err) };
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as Command;
  const answer = command.cmd === 'get' ? get(command.url) : push(command);
  void answer.then((a) => emit({ ev: 'res', id: command.id, ...a }));
});
emit({ ev: 'ready' });
