/**
 * Request hardening (protocol.md): bodies capped, JSON only, browser Origins other than the agent's
 * own refused, and the Host header checked against the device's own names and addresses so that a
 * DNS-rebinding page cannot reach the API through a name it controls.
 */
import type { IncomingMessage } from 'node:http';
import { AirliftError } from '../../shared/errors';
import { MAX_BODY_BYTES } from '../../shared/protocol/api';

/** The host part of a Host header or URL authority, lowercased, without port or IPv6 brackets. */
export function hostOnly(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return end > 0 ? a.slice(1, end) : a;
  }
  const colon = a.indexOf(':');
  const host = colon >= 0 && a.indexOf(':', colon + 1) < 0 ? a.slice(0, colon) : a;
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

export function checkHost(header: string | undefined, allowed: ReadonlySet<string>): void {
  if (!header) throw new AirliftError('BAD_HOST', 'Missing Host header');
  const host = hostOnly(header);
  if (!allowed.has(host))
    throw new AirliftError('BAD_HOST', `Host ${JSON.stringify(host.slice(0, 64))} is not this device`);
}

/** Non-browser clients send no Origin; a browser page may only be the agent's own portal. */
export function checkOrigin(
  origin: string | undefined,
  fetchSite: string | undefined,
  allowed: ReadonlySet<string>,
): void {
  if (fetchSite === 'cross-site')
    throw new AirliftError('FORBIDDEN_ORIGIN', 'Cross-site requests are refused');
  if (origin === undefined) return;
  let host: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    host = hostOnly(url.host);
  } catch {
    throw new AirliftError('FORBIDDEN_ORIGIN', 'Origin not allowed');
  }
  if (!allowed.has(host)) throw new AirliftError('FORBIDDEN_ORIGIN', 'Origin not allowed');
}

export function checkJsonContentType(header: string | undefined): void {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new AirliftError('UNSUPPORTED_MEDIA_TYPE', 'Send JSON with Content-Type: application/json');
  }
}

/**
 * The client hung up before its request was complete. Nobody is left to answer and nothing went
 * wrong on our side: not an AirliftError, and not worth more than a debug line.
 */
export class ClientAbortedError extends Error {
  override readonly name = 'ClientAbortedError';
  constructor(options?: { cause?: unknown }) {
    super('The client closed the connection before the request was complete', options);
  }
}

/** Read a JSON body of at most `limit` bytes; answers PAYLOAD_TOO_LARGE early from Content-Length. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw new AirliftError('PAYLOAD_TOO_LARGE', `Body over ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > limit) throw new AirliftError('PAYLOAD_TOO_LARGE', `Body over ${limit} bytes`);
      chunks.push(buf);
    }
  } catch (err) {
    // The only other way reading fails is the stream erroring: the client reset or closed it.
    if (err instanceof AirliftError) throw err;
    throw new ClientAbortedError({ cause: err });
  }
  if (!req.complete) throw new ClientAbortedError();
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0) throw new AirliftError('BAD_REQUEST', 'Empty body');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AirliftError('BAD_REQUEST', 'Body is not valid JSON');
  }
}
