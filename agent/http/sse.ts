/** Server-Sent Events for `/v1/events`: one JSON event per message, a comment heartbeat to keep NATs open. */
import type { ServerResponse } from 'node:http';

export const SSE_HEARTBEAT_MS = 15_000;
export const MAX_SSE_CLIENTS = 16;

export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    onClose: () => void,
  ) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write(': airlift events\n\n');
    this.heartbeat = setInterval(() => res.write(': ping\n\n'), SSE_HEARTBEAT_MS);
    this.heartbeat.unref();
    res.on('close', () => {
      this.closed = true;
      clearInterval(this.heartbeat);
      onClose();
    });
  }

  send(type: string, data: unknown): void {
    if (this.closed) return;
    this.res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.res.end();
  }
}
