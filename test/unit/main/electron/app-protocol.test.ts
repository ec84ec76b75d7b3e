import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appProtocolHandler, appResponseHeaders, resolveAppRequest } from '../../../../main/electron/app-protocol';
import { contentSecurityPolicy, UI_SECURITY_HEADERS } from '../../../../main/station/csp';

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-app-protocol-'));
  root = join(dir, 'renderer');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Airlift</title>');
  await writeFile(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  await writeFile(join(root, 'assets', 'index-abc.css'), 'body{}');
  await writeFile(join(root, 'notes.txt'), 'not a UI type');
  await writeFile(join(dir, 'secret.js'), 'outside the root');
  await writeFile(join(dir, 'secret.html'), 'outside the root');
  await symlink(join(dir, 'secret.js'), join(root, 'assets', 'escape.js'));
  await symlink(dir, join(root, 'up'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const get = (url: string) => resolveAppRequest({ method: 'GET', url }, root);

describe('app:// serves the UI and nothing else', () => {
  it('serves the entry and its assets', async () => {
    expect(await get('app://airlift/index.html')).toMatchObject({ status: 200, file: join(root, 'index.html'), contentType: 'text/html; charset=utf-8', immutable: false });
    expect(await get('app://airlift/')).toMatchObject({ status: 200, file: join(root, 'index.html') });
    expect(await get('app://airlift/assets/index-abc.js')).toMatchObject({ status: 200, contentType: 'text/javascript; charset=utf-8', immutable: true });
    expect(await get('app://airlift/assets/index-abc.css?v=1#x')).toMatchObject({ status: 200, contentType: 'text/css; charset=utf-8' });
  });

  it.each(['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'get'])('refuses %s', async (method) => {
    expect((await resolveAppRequest({ method, url: 'app://airlift/index.html' }, root)).status).toBe(405);
  });

  it.each([
    'app://airlift/../secret.js',
    'app://airlift/../../../../etc/passwd',
    'app://airlift/%2e%2e/secret.js',
    'app://airlift/%2E%2E/secret.html',
    'app://airlift/.%2e/secret.js',
    'app://airlift/..%2fsecret.js',
    'app://airlift/..%2Fsecret.js',
    'app://airlift/assets/..%2f..%2fsecret.js',
    'app://airlift/%252e%252e/secret.js',
    'app://airlift/..\\secret.js',
    'app://airlift/..%5csecret.js',
    'app://airlift/assets%5c..%5c..%5csecret.js',
    'app://airlift/index.html%00.js',
    'app://airlift/%00',
    'app://airlift/assets/escape.js',
    'app://airlift/up/secret.js',
    'app://airlift/up/secret.html',
    'app://airlift//etc/passwd',
    'app://airlift/%2fetc%2fpasswd',
    'app://airlift/C:%5cWindows%5cwin.ini',
    'app://airlift/notes.txt',
    'app://airlift/assets',
    'app://airlift/missing.js',
    'app://airlift/%E0%A4%A',
  ])('refuses %s', async (url) => {
    const r = await get(url);
    expect(r.status).not.toBe(200);
  });

  it.each([
    'app://evil/index.html',
    'app://airlift.evil/index.html',
    'app://user@airlift/index.html',
    'app://airlift:1234/index.html',
    'file:///etc/passwd',
    'https://airlift/index.html',
    'not a url',
  ])('refuses a URL that is not ours: %s', async (url) => {
    expect((await get(url)).status).not.toBe(200);
  });

  it('refuses an absurdly long URL', async () => {
    expect((await get(`app://airlift/${'a'.repeat(9000)}.js`)).status).toBe(400);
  });
});

describe('the responses', () => {
  it('carry the CSP from the web host builder with connect-src none', () => {
    const h = appResponseHeaders('text/html; charset=utf-8', false);
    expect(h['Content-Security-Policy']).toBe(contentSecurityPolicy({ connect: 'none' }));
    expect(h['Content-Security-Policy']).toContain("connect-src 'none'");
    expect(h['Content-Security-Policy']).toContain("script-src 'self'");
    expect(h['Content-Security-Policy']).not.toContain('unsafe');
    for (const [k, v] of Object.entries(UI_SECURITY_HEADERS)) if (k !== 'Permissions-Policy') expect(h[k]).toBe(v);
    // The camera is the one feature our own origin may use (label QR codes).
    expect(h['Permissions-Policy']).toContain('camera=(self)');
    expect(h['Permissions-Policy']).toContain('microphone=()');
    expect(h['Permissions-Policy']).toContain('geolocation=()');
  });

  it('through the handler Electron calls', async () => {
    const handler = appProtocolHandler(root);
    const ok = await handler(new Request('app://airlift/index.html'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toBe(contentSecurityPolicy({ connect: 'none' }));
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await ok.text()).toContain('<title>Airlift</title>');

    const traversal = await handler(new Request('app://airlift/%2e%2e/secret.js'));
    expect(traversal.status).toBe(404);
    expect(await traversal.text()).not.toContain('outside the root');

    const post = await handler(new Request('app://airlift/index.html', { method: 'POST', body: 'x' }));
    expect(post.status).toBe(405);
    expect(post.headers.get('content-security-policy')).toBe(contentSecurityPolicy({ connect: 'none' }));
  });
});
