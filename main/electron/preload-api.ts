/**
 * What the preload exposes as `window.airlift`, built from an ipcRenderer (injected, so it runs in
 * a test's vm as in Electron's sandbox): one async function per station method, the two desktop
 * extras, and `subscribe(event, cb) → unsubscribe`. Nothing else — no ipcRenderer, no generic
 * `invoke`, no `openExternal(url)`.
 *
 * Params cross as JSON text (the main process caps and parses it); a failure rejects with a plain
 * `{ code, message }` object, because contextBridge keeps an object's fields but drops an Error's
 * own properties. Event callbacks receive the event's data only, never the IpcRendererEvent (which
 * would hand the page `sender`, an ipcRenderer).
 */
import {
  DESKTOP_METHODS,
  IPC,
  IPC_MAX_PAYLOAD_BYTES,
  PRELOAD_EVENTS,
  PRELOAD_METHODS,
  type IpcReply,
} from './channels';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export type CallError = { code: string; message: string };

/** Rejects with a plain `{ code, message }`: it survives contextBridge; an Error's fields do not. */
function fail(code: string, message: string): never {
  const error: CallError = { code, message };
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- see above
  throw error;
}

function isReply(v: unknown): v is IpcReply {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { ok?: unknown; error?: unknown };
  if (r.ok === true) return true;
  if (r.ok !== false || typeof r.error !== 'object' || r.error === null) return false;
  const e = r.error as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' && typeof e.message === 'string';
}

function encode(params: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(params ?? {});
  } catch {
    text = undefined;
  }
  if (text === undefined) fail('BAD_REQUEST', 'Params must be plain JSON data');
  if (text.length > IPC_MAX_PAYLOAD_BYTES)
    fail('PAYLOAD_TOO_LARGE', `Params larger than ${IPC_MAX_PAYLOAD_BYTES} bytes`);
  return text;
}

type Callback = (data: unknown) => void;

export function buildPreloadApi(ipc: IpcRendererLike): Record<string, unknown> {
  const invoke = async (channel: string, method: string, params: unknown): Promise<unknown> => {
    const reply = await ipc.invoke(channel, method, encode(params));
    if (!isReply(reply)) fail('PROTOCOL_ERROR', 'The app answered outside its protocol');
    if (reply.ok) return reply.result;
    fail(reply.error.code, reply.error.message);
  };

  const api: Record<string, unknown> = {};
  for (const method of PRELOAD_METHODS) api[method] = (params: unknown) => invoke(IPC.call, method, params);
  for (const method of DESKTOP_METHODS)
    api[method] = (params: unknown) => invoke(IPC.desktop, method, params);

  const listeners = new Map<string, Set<Callback>>();
  const events: readonly string[] = PRELOAD_EVENTS;
  const onEvent = (_event: unknown, name: unknown, data: unknown): void => {
    if (typeof name !== 'string') return;
    for (const cb of [...(listeners.get(name) ?? [])]) {
      try {
        cb(data);
      } catch {
        // One failing listener must not starve the others.
      }
    }
  };
  let attached = false;
  const count = () => [...listeners.values()].reduce((n, s) => n + s.size, 0);

  api['subscribe'] = (event: unknown, cb: unknown): (() => void) => {
    if (typeof event !== 'string' || !events.includes(event))
      throw new TypeError(`Unknown station event ${String(event).slice(0, 64)}`);
    if (typeof cb !== 'function') throw new TypeError('subscribe needs a callback');
    // Wrapped so that the page's function is called with data alone, and unsubscribing twice is harmless.
    const own: Callback = (data) => {
      (cb as Callback)(data);
    };
    const set = listeners.get(event) ?? new Set<Callback>();
    set.add(own);
    listeners.set(event, set);
    if (!attached) {
      ipc.on(IPC.event, onEvent);
      attached = true;
    }
    return () => {
      set.delete(own);
      if (set.size === 0) listeners.delete(event);
      if (attached && count() === 0) {
        ipc.removeListener(IPC.event, onEvent);
        attached = false;
      }
    };
  };
  return api;
}
