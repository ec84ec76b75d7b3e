/**
 * The app:// scheme: the built UI (dist/renderer) served to the window, GET only, with the same
 * Content-Security-Policy builder and security headers as the web host (connect-src 'none': the
 * renderer reaches the station over IPC, nothing over the network).
 *
 * Paths go through the hosts' one resolver (`resolveUiFile`, main/station/ui-files.ts): decoded once, NUL and backslashes
 * refused, normalised, `..` refused, only known file types, and the real path (symlinks followed)
 * must stay under the real renderer root — so both hosts refuse the same things.
 */
import { readFile } from 'node:fs/promises';
import { contentSecurityPolicy, UI_SECURITY_HEADERS } from '../station/csp';
import { isHashedAsset, resolveUiFile, uiContentType } from '../station/ui-files';
import { APP_HOST, APP_SCHEME } from './channels';

/**
 * The web host's headers, with one difference: the desktop app may use the camera (label QR codes)
 * on its own origin, so `Permissions-Policy` allows `camera=(self)`; the permission handler still
 * decides each request.
 */
export function appResponseHeaders(contentType: string, immutable: boolean): Record<string, string> {
  return {
    ...UI_SECURITY_HEADERS,
    'Permissions-Policy': 'camera=(self), microphone=(), geolocation=(), usb=(), serial=(), bluetooth=()',
    'Content-Security-Policy': contentSecurityPolicy({ connect: 'none' }),
    'Content-Type': contentType,
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-store',
  };
}

export type AppResolution =
  | { status: 200; file: string; contentType: string; immutable: boolean }
  | { status: 400 | 404 | 405; reason: string };

/** What a request to app:// gets: a file under `root`, or a refusal with its status. */
export async function resolveAppRequest(
  req: { method: string; url: string },
  root: string,
): Promise<AppResolution> {
  if (req.method !== 'GET') return { status: 405, reason: 'Only GET.' };
  if (req.url.length > 8192) return { status: 400, reason: 'URL too long.' };
  let u: URL;
  try {
    u = new URL(req.url);
  } catch {
    return { status: 400, reason: 'Not a URL.' };
  }
  if (
    u.protocol !== `${APP_SCHEME}:` ||
    u.host !== APP_HOST ||
    u.username !== '' ||
    u.password !== '' ||
    u.port !== ''
  )
    return { status: 404, reason: 'Not this app.' };
  // The raw path as written: URL parsing already removed `.`/`..` segments (and %2e forms); what is
  // left still goes through the resolver, which decodes %2f, %5c and %00 and refuses what they make.
  const file = await resolveUiFile(root, u.pathname);
  if (!file) return { status: 404, reason: 'Not found.' };
  const contentType = uiContentType(file);
  if (contentType === undefined) return { status: 404, reason: 'Not found.' };
  return { status: 200, file, contentType, immutable: isHashedAsset(file) };
}

/** The `protocol.handle('app', …)` handler. Never throws: a failure is a 404 or a 500. */
export function appProtocolHandler(
  root: string,
  log?: (message: string) => void,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const r = await resolveAppRequest({ method: request.method, url: request.url }, root);
    if (r.status !== 200) {
      if (r.status !== 404)
        log?.(`app:// refused ${request.method} ${request.url.slice(0, 200)}: ${r.reason}`);
      return new Response(r.reason, {
        status: r.status,
        headers: appResponseHeaders('text/plain; charset=utf-8', false),
      });
    }
    try {
      const body = await readFile(r.file);
      return new Response(body, { status: 200, headers: appResponseHeaders(r.contentType, r.immutable) });
    } catch {
      return new Response('Unreadable.', {
        status: 500,
        headers: appResponseHeaders('text/plain; charset=utf-8', false),
      });
    }
  };
}
