/** A fake WebSocket for the bridge: records what the page sends, lets the test play the station. */
import type { Connect, SocketHandlers } from '../../../renderer/src/bridge-core';

export interface FakeSocket {
  url: string;
  sent: unknown[];
  closed?: { code?: number | undefined; reason?: string | undefined };
  open(): void;
  receive(frame: unknown): void;
  receiveRaw(text: string): void;
  drop(code?: number, reason?: string): void;
}

export function fakeNetwork() {
  const sockets: FakeSocket[] = [];
  const timers: { cb: () => void; ms: number; id: number }[] = [];
  let nextTimer = 1;
  const connect: Connect = (url, h: SocketHandlers) => {
    const s: FakeSocket = {
      url,
      sent: [],
      open: () => h.onOpen(),
      receive: (frame) => h.onMessage(JSON.stringify(frame)),
      receiveRaw: (text) => h.onMessage(text),
      drop: (code = 1006, reason = '') => h.onClose(code, reason),
    };
    sockets.push(s);
    return {
      send: (data) => s.sent.push(JSON.parse(data)),
      close: (code, reason) => {
        s.closed = { code, reason };
      },
    };
  };
  return {
    sockets,
    timers,
    connect,
    setTimeout: (cb: () => void, ms: number) => {
      const id = nextTimer++;
      timers.push({ cb, ms, id });
      return id;
    },
    clearTimeout: (h: unknown) => {
      const i = timers.findIndex((t) => t.id === h);
      if (i >= 0) timers.splice(i, 1);
    },
    /** Run the timers due (all of them: the tests control time by hand). */
    fire() {
      const due = timers.splice(0);
      for (const t of due) t.cb();
    },
    last(): FakeSocket {
      const s = sockets.at(-1);
      if (!s) throw new Error('no socket opened');
      return s;
    },
  };
}
