/**
 * A stand-in for one fleet device: an HTTP server on loopback that the sim network routes the
 * device's traffic to (its setup AP address and its LAN address), answering what a hostile or
 * unlucky device would, and passing everything else through to the real agent unchanged.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AirliftError } from '../../../shared/errors';
import type { Fleet } from '../../../lab/fleet';

export interface SeenRequest {
  method: string;
  path: string;
  body: string;
}

export interface CannedAnswer {
  status: number;
  body: string | Buffer;
  headers?: Record<string, string>;
}

/** What to answer; `undefined` passes the request through to the real device. */
export type Rule = (req: SeenRequest) => CannedAnswer | undefined;

/**
 * Optionally rewrite what the real device answered (JSON bodies only); `undefined` keeps it.
 * Gets the parsed body and returns the body to send instead.
 */
export type Rewrite = (req: SeenRequest, status: number, body: unknown) => unknown;

export interface StandIn {
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** The JSON error body the agent answers with (`{ error: { code, message, retryable, details? } }`). */
export function errorAnswer(err: AirliftError, headers: Record<string, string> = {}): CannedAnswer {
  return { status: err.status, body: JSON.stringify({ error: err.toBody() }), headers };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function passThrough(
  to: { host: string; port: number },
  incoming: IncomingMessage,
  seen: SeenRequest,
  res: ServerResponse,
  rewrite: Rewrite | undefined,
): void {
  const out = request(
    {
      host: to.host,
      port: to.port,
      method: seen.method,
      path: seen.path,
      headers: { ...incoming.headers, 'content-length': String(Buffer.byteLength(seen.body)) },
    },
    (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        let body = Buffer.concat(chunks);
        if (rewrite) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch {
            parsed = undefined;
          }
          const replaced = parsed === undefined ? undefined : rewrite(seen, answer.statusCode ?? 0, parsed);
          if (replaced !== undefined) body = Buffer.from(JSON.stringify(replaced), 'utf8');
        }
        res.writeHead(answer.statusCode ?? 502, {
          'content-type': answer.headers['content-type'] ?? 'application/json',
          'content-length': String(body.length),
        });
        res.end(body);
      });
    },
  );
  out.on('error', () => res.destroy());
  out.end(seen.body);
}

/** Route `deviceId`'s traffic through a stand-in until `close()`. */
export async function standIn(
  fleet: Fleet,
  deviceId: string,
  rule: Rule,
  rewrite?: Rewrite,
): Promise<StandIn> {
  const device = fleet.devices.find((d) => d.entry.deviceId === deviceId);
  const real = device?.lab.running.listening[0];
  if (!real) throw new Error(`no device ${deviceId} in the fleet`);
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const s = { method: req.method ?? 'GET', path: req.url ?? '/', body };
      seen.push(s);
      const canned = rule(s);
      if (!canned) {
        passThrough(real, req, s, res, rewrite);
        return;
      }
      res.writeHead(canned.status, { 'content-type': 'application/json', ...canned.headers });
      res.end(canned.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fleet.net.register(deviceId, { host: '127.0.0.1', port });
  return {
    seen,
    async close() {
      fleet.net.register(deviceId, real);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
