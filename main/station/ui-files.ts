/**
 * The built UI's files as both hosts serve them — the web host over HTTP, the desktop app over its
 * app:// scheme: which request path names which file (never one outside the UI folder), and with
 * what content type. One resolver, so both refuse the same paths.
 */
import { realpath, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

export const UI_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
};

/** The content type of a UI file, or undefined for a kind the UI does not ship. */
export function uiContentType(file: string): string | undefined {
  return UI_CONTENT_TYPES[extname(file)];
}

/** Vite names these by their content hash: they never change, so they may be cached for good. */
export function isHashedAsset(file: string): boolean {
  return file.includes(`${sep}assets${sep}`);
}

/** The file under `root` a request path names, or undefined (traversal, unknown type, not a file). */
export async function resolveUiFile(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const normal = normalize(relative);
  if (normal.startsWith('..') || normal.split(sep).includes('..')) return undefined;
  if (uiContentType(normal) === undefined) return undefined;
  try {
    const realRoot = await realpath(root);
    const real = await realpath(join(realRoot, normal));
    if (!real.startsWith(realRoot + sep)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}
