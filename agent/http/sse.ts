/**
 * Server-Sent Events for `/v1/events`: one JSON event per message, a comment heartbeat to keep NATs
 * open. Streams are capped per client address and in all, and each ends after `lifetimeMs` (the
 * client reconnects, as EventSource does by itself), so no client holds a stream slot for ever.
 */
import type { ServerResponse } from 'node:http';
import { AirliftError } from '../../shared/errors';

export const SSE_HEARTBEAT_MS = 15_000;
/** How long a client should wait before reconnecting (the SSE `retry` field). */
export const SSE_RETRY_MS = 2_000;

export interface SseLimits {
  /** Streams per remote address. */
  perAddress: number;
  /** Streams in all. */
  max: number;
  /** A stream is ended after this long. */
  lifetimeMs: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = { perAddress: 16, max: 64, lifetimeMs: 10 * 60_000 };

/** Counts streams per address; `admit` throws BUSY past a cap and returns the release function. */
export class SseSlots {
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: SseLimits) {}

  admit(address: string): () => void {
    const mine = this.byAddress.get(address) ?? 0;
    if (mine >= this.limits.perAddress)
      throw new AirliftError('BUSY', 'Too many event streams from this client');
    if (this.total >= this.limits.max) throw new AirliftError('BUSY', 'Too many event listeners');
    this.byAddress.set(address, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }
}

export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private readonly expiry: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    onClose: () => void,
    lifetimeMs: number = DEFAULT_SSE_LIMITS.lifetimeMs,
  ) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write(`: airlift events\nretry: ${SSE_RETRY_MS}\n\n`);
    this.heartbeat = setInterval(() => res.write(': ping\n\n'), SSE_HEARTBEAT_MS);
    this.heartbeat.unref();
    this.expiry = setTimeout(() => this.close(), lifetimeMs);
    this.expiry.unref();
    res.on('close', () => {
      this.closed = true;
      clearInterval(this.heartbeat);
      clearTimeout(this.expiry);
      onClose();
    });
  }

  send(type: string, data: unknown): void {
    if (this.closed) return;
    this.res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.expiry);
    this.res.end();
  }
}
