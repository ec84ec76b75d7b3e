/**
 * Electron's security checklist as pure decisions (https://www.electronjs.org/docs/latest/tutorial/security),
 * and the two functions that wire them onto a session and a webContents. Each decision is a
 * function of plain values so the tests can throw hostile URLs and permission requests at it.
 *
 * The renderer is our own UI from the app:// scheme. It has no Node, no network of its own (every
 * request its session makes that is not app://airlift is cancelled; its CSP has `connect-src 'none'`),
 * may not navigate away, open windows, attach webviews or download anything but its own blob:
 * exports, and gets no permission except the camera (video only, for scanning label QR codes) for
 * our own window's main frame at our origin.
 */
import { APP_ORIGIN, APP_PARTITION, APP_SCHEME, APP_URL_PREFIX } from './channels';
import type {
  CustomSchemeLike,
  FrameLike,
  IpcMainInvokeEventLike,
  PermissionCheckDetailsLike,
  PermissionRequestDetailsLike,
  SessionLike,
  WebContentsLike,
  WindowOptions,
} from './electron-api';

// ---- the window ------------------------------------------------------------------------------------

export function windowOptions(o: { preload: string; devTools: boolean }): WindowOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Airlift Station',
    backgroundColor: '#111418',
    autoHideMenuBar: true,
    webPreferences: {
      preload: o.preload,
      partition: APP_PARTITION,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      // Chromium's spellchecker downloads dictionaries: the renderer has no network.
      spellcheck: false,
      safeDialogs: true,
      devTools: o.devTools,
    },
  };
}

/**
 * app:// as a standard, secure scheme (an origin of its own, a secure context for the camera), with
 * nothing extra: no CSP bypass, no service workers, no CORS to other schemes, no streaming.
 */
export const APP_SCHEME_PRIVILEGES: CustomSchemeLike = {
  scheme: APP_SCHEME,
  privileges: {
    standard: true,
    secure: true,
    bypassCSP: false,
    allowServiceWorkers: false,
    supportFetchAPI: true,
    corsEnabled: false,
    stream: false,
    codeCache: false,
  },
};

// ---- URLs ------------------------------------------------------------------------------------------

/** A URL of our UI: `app://airlift/…`, parsed strictly (no userinfo, no port, no other host). */
export function isAppUrl(url: unknown): boolean {
  if (typeof url !== 'string' || !url.startsWith(APP_URL_PREFIX) || url.length > 8192) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (
    u.protocol === `${APP_SCHEME}:` &&
    u.host === 'airlift' &&
    u.username === '' &&
    u.password === '' &&
    u.port === ''
  );
}

/** An origin string Electron reports for our pages (`app://airlift`, sometimes with a slash). */
export function isAppOrigin(origin: unknown): boolean {
  return origin === APP_ORIGIN || origin === `${APP_ORIGIN}/`;
}

/** Navigation (`will-navigate`, `will-redirect`, `will-frame-navigate`) stays inside the UI. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/**
 * Whether the window's session may make a request at all. Only the UI's own files (and its own
 * blob: exports); DevTools' own pages when DevTools are enabled (development builds). Everything
 * else — http(s), ws(s), file:, data:, ftp, other custom schemes — is cancelled.
 */
export function requestAllowed(url: string, o: { devTools: boolean }): boolean {
  if (isAppUrl(url)) return true;
  if (url.startsWith(`blob:${APP_URL_PREFIX}`)) return true;
  if (o.devTools && (url.startsWith('devtools://') || url.startsWith('chrome-devtools://'))) return true;
  return false;
}

/** Downloads: only the UI's own exports (blob: URLs it made from a report). */
export function downloadAllowed(url: string): boolean {
  return url.startsWith(`blob:${APP_URL_PREFIX}`);
}

// ---- permissions -----------------------------------------------------------------------------------

/**
 * A permission request: only `media` asking for video alone (the camera, for label QR codes), from
 * our window's main frame at our origin. Microphone, screen capture, geolocation, notifications,
 * HID/USB/serial, clipboard reads, fullscreen and the rest are denied.
 */
export function permissionRequestAllowed(r: {
  fromOurWindow: boolean;
  permission: string;
  details: PermissionRequestDetailsLike;
}): boolean {
  if (!r.fromOurWindow || r.permission !== 'media') return false;
  const d = r.details;
  if (!d.isMainFrame || !isAppUrl(d.requestingUrl)) return false;
  if (d.securityOrigin !== undefined && !isAppOrigin(d.securityOrigin)) return false;
  const types = d.mediaTypes ?? [];
  return types.length > 0 && types.every((t) => t === 'video');
}

/** The synchronous check Chromium makes before (or instead of) a request: the same rule. */
export function permissionCheckAllowed(c: {
  fromOurWindow: boolean;
  permission: string;
  requestingOrigin: string;
  details: PermissionCheckDetailsLike;
}): boolean {
  if (!c.fromOurWindow || c.permission !== 'media') return false;
  const d = c.details;
  if (!d.isMainFrame || d.mediaType !== 'video' || !isAppOrigin(c.requestingOrigin)) return false;
  if (d.requestingUrl !== undefined && !isAppUrl(d.requestingUrl)) return false;
  if (d.securityOrigin !== undefined && !isAppOrigin(d.securityOrigin)) return false;
  return true;
}

// ---- IPC senders -----------------------------------------------------------------------------------

/**
 * An IPC call we answer: sent by our window's webContents, from its main frame (not a subframe, not
 * a frame that navigated away), whose URL is ours. Anything else never reaches the station.
 */
export function isTrustedSender(
  event: Pick<IpcMainInvokeEventLike, 'sender' | 'senderFrame'>,
  ours: WebContentsLike | undefined,
): boolean {
  if (!ours || ours.isDestroyed() || event.sender !== ours) return false;
  const frame: FrameLike | null = event.senderFrame;
  if (frame === null || frame !== ours.mainFrame) return false;
  return isAppUrl(frame.url) && isAppOrigin(frame.origin);
}

// ---- wiring ----------------------------------------------------------------------------------------

/**
 * The window's session: every request that is not the UI's own cancelled (webRequest sees every
 * request the renderer's network service makes, whatever the scheme — unlike a proxy setting,
 * which WebRTC and bypass lists ignore and which fails open when reset), `file:` refused outright,
 * permissions by the rules above, no device permissions, no spellchecker downloads, downloads only
 * of the UI's own exports.
 */
export function hardenSession(
  ses: SessionLike,
  o: { devTools: boolean; ours: () => WebContentsLike | undefined; log?: (message: string) => void },
): void {
  ses.webRequest.onBeforeRequest((details, callback) => {
    const allowed = requestAllowed(details.url, o);
    if (!allowed) o.log?.(`blocked a request from the window: ${details.url.slice(0, 200)}`);
    callback({ cancel: !allowed });
  });
  ses.protocol.handle('file', () => new Response('file: is not served by this app', { status: 403 }));
  ses.setPermissionRequestHandler((webContents, permission, callback, details) => {
    callback(permissionRequestAllowed({ fromOurWindow: webContents === o.ours(), permission, details }));
  });
  ses.setPermissionCheckHandler((webContents, permission, requestingOrigin, details) =>
    permissionCheckAllowed({
      fromOurWindow: webContents !== null && webContents === o.ours(),
      permission,
      requestingOrigin,
      details,
    }),
  );
  ses.setDevicePermissionHandler(() => false);
  ses.setSpellCheckerEnabled(false);
  ses.on('will-download', (event, item) => {
    if (!downloadAllowed(item.getURL())) event.preventDefault();
  });
}

/**
 * Every webContents the app creates (the window's, and any Electron makes for it): navigation kept
 * inside the UI, no new windows, no webviews, WebRTC kept off non-proxied UDP.
 */
export function hardenWebContents(contents: WebContentsLike, log?: (message: string) => void): void {
  const guard = (kind: string) => (details: { url: string; preventDefault(): void }) => {
    if (navigationAllowed(details.url)) return;
    details.preventDefault();
    log?.(`blocked ${kind} to ${details.url.slice(0, 200)}`);
  };
  contents.on('will-navigate', guard('navigation'));
  contents.on('will-redirect', guard('a redirect'));
  contents.on('will-frame-navigate', guard('a frame navigation'));
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log?.('blocked a webview');
  });
  contents.setWindowOpenHandler((details) => {
    log?.(`blocked a new window for ${details.url.slice(0, 200)}`);
    return { action: 'deny' };
  });
  contents.setWebRTCIPHandlingPolicy('disable_non_proxied_udp');
}
