/**
 * What the hardening tests share: raw HTTP from a chosen loopback source address (Linux routes all of
 * 127/8 to lo, so 127.0.0.2, 127.0.0.3, ... are distinct clients to the agent), the SPAKE2+ steps
 * driven one by one, and a logger whose lines the test can read.
 */
import { request, type Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { airliftContext, airliftIdentities, deriveProverSecrets } from '../../../shared/crypto/airlift';
import { createProver, type Spake2PlusProver } from '../../../shared/crypto/spake2plus';
import { fromBase64Url, toBase64Url } from '../../../shared/encoding';
import { createLogger, type Logger } from '../../../agent/log';
import { LAB_ID, LAB_SECRET } from '../../helpers/lab';

/** A setup secret that is valid in form but not the lab device's. */
export const WRONG_SECRET = 'ZZZZZZZZZZZZZZZZZZZZZZZZZQ';

export interface Reply {
  status: number;
  json: unknown;
  /** The Airlift error code, when the body is an error. */
  code?: string;
}

export interface PostOptions {
  localAddress?: string;
  agent?: HttpAgent;
}

/** POST a JSON body; a connection refused or reset answers status 0 (the server hung up). */
export function post(url: string, path: string, body: unknown, opts: PostOptions = {}): Promise<Reply> {
  const u = new URL(url);
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) },
        ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
        ...(opts.agent ? { agent: opts.agent } : { agent: false }),
      },
      (res) => {
        readAll(res).then(
          (raw) => resolve(toReply(res.statusCode ?? 0, raw)),
          () => resolve({ status: 0, json: undefined }),
        );
      },
    );
    req.on('error', () => resolve({ status: 0, json: undefined }));
    req.end(text);
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function toReply(status: number, raw: string): Reply {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = raw;
  }
  const code = (json as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? { status, json, code } : { status, json };
}

export interface Hello {
  sid: string;
  salt: string;
  iter: number;
  nonce: string;
  stationNonce: Uint8Array;
}

export async function hello(url: string, opts: PostOptions = {}): Promise<Hello> {
  const stationNonce = new Uint8Array(32).map(() => Math.floor(Math.random() * 256));
  const reply = await post(
    url,
    '/v1/session/hello',
    { deviceId: LAB_ID, nonce: toBase64Url(stationNonce) },
    opts,
  );
  if (reply.status !== 200) throw new Error(`hello answered ${reply.status} ${JSON.stringify(reply.json)}`);
  return { ...(reply.json as Omit<Hello, 'stationNonce'>), stationNonce };
}

/** The prover's side for one hello, with the given secret (the right one by default). */
export function proverFor(h: Hello, secret = LAB_SECRET): Spake2PlusProver {
  const { w0, w1 } = deriveProverSecrets(secret, LAB_ID, fromBase64Url(h.salt), h.iter);
  return createProver({
    context: airliftContext(LAB_ID, h.stationNonce, fromBase64Url(h.nonce)),
    ...airliftIdentities(LAB_ID),
    w0,
    w1,
  });
}

export function pake1Body(h: Hello, prover: Spake2PlusProver): { sid: string; shareP: string } {
  return { sid: h.sid, shareP: toBase64Url(prover.shareP) };
}

/** confirmP for pake2 from a pake1 answer (throws if the device did not know our secret). */
export function pake2Body(
  h: Hello,
  prover: Spake2PlusProver,
  pake1: Reply,
): { sid: string; confirmP: string } {
  const { shareV, confirmV } = pake1.json as { shareV: string; confirmV: string };
  const { confirmP } = prover.finish(fromBase64Url(shareV), fromBase64Url(confirmV));
  return { sid: h.sid, confirmP: toBase64Url(confirmP) };
}

export interface LogLine {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

/** A real pino logger (the agent's own settings) whose JSON lines the test reads back. */
export function capturingLogger(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level,
    destination: {
      write: (chunk: string) => {
        for (const l of chunk.split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      },
    },
  });
  return { logger, lines };
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
