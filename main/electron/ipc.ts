/**
 * The station API over Electron IPC: the main-process half of the preload.
 *
 * Every call is checked in this order, and the first failure answers `{ ok: false, error }`:
 * 1. the sender is our window's main frame at app://airlift (an untrusted sender never reaches
 *    the station, and learns nothing but FORBIDDEN_ORIGIN);
 * 2. the method name is a station method (or a desktop extra on its own channel);
 * 3. the params arrive as a JSON string no larger than IPC_MAX_PAYLOAD_BYTES, measured before it
 *    is parsed;
 * 4. the parsed params match the method's schema.
 * Errors cross as `{ code, message }` (no stack, no cause). Station events go to our window only,
 * and only while it shows our UI.
 */
import type { z } from 'zod';
import { AirliftError } from '../../shared/errors';
import { stationMethods } from '../../shared/station-api';
import { parseOrThrow } from '../../shared/validate';
import { stationErrorOf } from '../station/station-error';
import { DESKTOP_METHODS, IPC, IPC_MAX_PAYLOAD_BYTES, type DesktopMethod, type IpcReply } from './channels';
import { desktopMethods } from '../../shared/station-api';
import type { IpcMainInvokeEventLike, IpcMainLike, WebContentsLike } from './electron-api';
import { isAppUrl, isTrustedSender } from './security';

/** The station service as IPC uses it. */
export interface StationLike {
  call(method: string, params: unknown): Promise<unknown>;
  subscribe(listener: (name: string, data: unknown) => void): () => void;
}

export interface IpcDeps {
  ipcMain: IpcMainLike;
  station: StationLike;
  /** Our window's webContents, while it exists. */
  ours: () => WebContentsLike | undefined;
  desktop: { [M in DesktopMethod]: (params: never) => Promise<object> };
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The params of a call: a JSON string within the cap, parsed (still unvalidated). */
export function decodePayload(payload: unknown): unknown {
  if (payload === undefined) return {};
  if (typeof payload !== 'string') throw new AirliftError('BAD_REQUEST', 'Params must arrive as JSON text');
  // UTF-8 is never shorter than the UTF-16 length, so an over-long string is refused without
  // measuring it; a shorter one is measured exactly.
  if (payload.length > IPC_MAX_PAYLOAD_BYTES || Buffer.byteLength(payload, 'utf8') > IPC_MAX_PAYLOAD_BYTES)
    throw new AirliftError('PAYLOAD_TOO_LARGE', `Params larger than ${IPC_MAX_PAYLOAD_BYTES} bytes`);
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    throw new AirliftError('BAD_REQUEST', 'Params are not valid JSON');
  }
}

function isMethodOf<T extends object>(table: T, name: unknown): name is keyof T & string {
  return typeof name === 'string' && name.length <= 64 && Object.hasOwn(table, name);
}

const refused = (code: 'FORBIDDEN_ORIGIN', message: string): IpcReply => ({
  ok: false,
  error: { code, message },
});

/** Register the handlers; returns what removes them and the event forwarding. */
export function registerStationIpc(d: IpcDeps): () => void {
  const trusted = (event: IpcMainInvokeEventLike): boolean => {
    if (isTrustedSender(event, d.ours())) return true;
    d.log?.(
      'warn',
      `refused IPC from an untrusted sender (${(event.senderFrame?.url ?? 'no frame').slice(0, 200)})`,
    );
    return false;
  };

  const answer = async (work: () => Promise<unknown>): Promise<IpcReply> => {
    try {
      return { ok: true, result: await work() };
    } catch (err) {
      const e = stationErrorOf(err);
      if (e.code === 'INTERNAL')
        d.log?.(
          'error',
          `IPC call failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      return { ok: false, error: e };
    }
  };

  d.ipcMain.handle(IPC.call, (event, method: unknown, payload: unknown) => {
    if (!trusted(event)) return refused('FORBIDDEN_ORIGIN', 'Not the Airlift window');
    return answer(async () => {
      if (!isMethodOf(stationMethods, method))
        throw new AirliftError(
          'UNKNOWN_METHOD',
          `No station method ${typeof method === 'string' ? method.slice(0, 64) : typeof method}`,
        );
      const raw = decodePayload(payload);
      const schema: z.ZodType = stationMethods[method].params;
      const params = parseOrThrow(schema, raw, `${method} params`);
      return d.station.call(method, params);
    });
  });

  d.ipcMain.handle(IPC.desktop, (event, method: unknown, payload: unknown) => {
    if (!trusted(event)) return refused('FORBIDDEN_ORIGIN', 'Not the Airlift window');
    return answer(async () => {
      if (!isMethodOf(desktopMethods, method) || !DESKTOP_METHODS.includes(method))
        throw new AirliftError(
          'UNKNOWN_METHOD',
          `No desktop method ${typeof method === 'string' ? method.slice(0, 64) : typeof method}`,
        );
      const schema: z.ZodType = desktopMethods[method].params;
      const params = parseOrThrow(schema, decodePayload(payload), `${method} params`) as never;
      return d.desktop[method](params);
    });
  });

  const unsubscribe = d.station.subscribe((name, data) => {
    const wc = d.ours();
    if (!wc || wc.isDestroyed() || !isAppUrl(wc.getURL())) return;
    wc.send(IPC.event, name, data);
  });

  return () => {
    unsubscribe();
    d.ipcMain.removeHandler(IPC.call);
    d.ipcMain.removeHandler(IPC.desktop);
  };
}
