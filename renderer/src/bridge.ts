/**
 * The one module that talks to the station. In the desktop app a preload exposes `window.airlift`
 * (one async function per station method, and `subscribe`); in a browser the page opens a WebSocket
 * to `/ws` on its own origin and authenticates with the token from its URL fragment, which is then
 * kept in session storage and removed from the address bar (a reload reattaches; the job runs in the
 * station, not in the page).
 *
 * Everything that comes back is validated with the shared schemas (bridge-core.ts).
 */
import { WS_PATH } from '../../shared/station-api';
import {
  createPreloadStation,
  createSocketStation,
  isAirliftPreload,
  socketUrl,
  takeToken,
  type Connect,
  type Station,
} from './bridge-core';

export { StationCallError, toStationError } from './bridge-core';
export type { Connection, ConnectionStatus, Station } from './bridge-core';

declare global {
  interface Window {
    airlift?: unknown;
  }
}

const browserConnect: Connect = (url, handlers) => {
  const ws = new WebSocket(url);
  ws.onopen = () => handlers.onOpen();
  ws.onmessage = (e: MessageEvent) => {
    if (typeof e.data === 'string') handlers.onMessage(e.data);
  };
  ws.onclose = (e: CloseEvent) => handlers.onClose(e.code, e.reason);
  return {
    send: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    },
    close: (code, reason) => ws.close(code, reason),
  };
};

function sessionStore(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

let station: Station | undefined;

/** The station this page talks to (created on first use). */
export function getStation(): Station {
  if (station) return station;
  const log = (m: string) => console.warn(`[airlift] ${m}`);
  if (isAirliftPreload(window.airlift)) {
    station = createPreloadStation(window.airlift, log);
    return station;
  }
  const { token, stripHash } = takeToken(window.location.hash, sessionStore());
  if (stripHash) {
    window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  }
  station = createSocketStation({
    url: socketUrl(window.location, WS_PATH),
    token,
    connect: browserConnect,
    setTimeout: (cb, ms) => window.setTimeout(cb, ms),
    clearTimeout: (h) => window.clearTimeout(h as number),
    log,
  });
  window.addEventListener('online', () => station?.reconnectNow());
  return station;
}
