/**
 * The UI's Content-Security-Policy, built in one place for both hosts: the web host sends it as a
 * header, the desktop app's app:// scheme handler too. Scripts and styles come from the app's own
 * files only — no inline code, no eval — and the page may talk only to its own origin (the web
 * host's WebSocket) or, in the desktop app, to nothing at all (it reaches the station by IPC).
 */

export interface CspOptions {
  /** `self`: the web host's WebSocket; `none`: the desktop app's renderer has no network. */
  connect: 'self' | 'none';
  /** A per-load nonce, if a component library must inject a <style> element. */
  styleNonce?: string;
  /** Origins the page may navigate frames to: none. Images: own files and blob: (exports). */
}

export function contentSecurityPolicy(o: CspOptions): string {
  const style = o.styleNonce === undefined ? "'self'" : `'self' 'nonce-${o.styleNonce}'`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${style}`,
    "img-src 'self' blob:",
    "font-src 'self'",
    `connect-src ${o.connect === 'self' ? "'self'" : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "worker-src 'none'",
    "manifest-src 'none'",
  ].join('; ');
}

/** Headers every UI response carries, beside the CSP. */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
};
