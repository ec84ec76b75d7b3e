/** Captive-portal probes and the page's HTTP serving (agent/portal/probes.ts, serve.ts) over real HTTP. */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBES, isForeignHost, probeFor } from '../../../../agent/portal/probes';
import { portalRoutes, type ExtraRoutes } from '../../../../agent/portal/serve';

const AP = '10.170.23.1';
const PORTAL = `http://${AP}/`;
const STYLE = 'body{color:red}';
const HTML = `<!doctype html><html><head><style>${STYLE}</style></head><body><script src="/portal/app.js" defer></script></body></html>`;
const JS = 'console.log("portal");'.repeat(50);

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

let inSetup = true;
const agent = {
  status: () => ({ setupAp: { up: inSetup, ssid: 'Airlift-K7Q2M6XA', address: AP } }),
  hostname: () => 'airlift-k7q2m6xa',
  addresses: () => ['192.168.50.10'],
};

function serve(handler: ExtraRoutes): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    void (async () => {
      const handled = await handler(req, res, new URL(req.url ?? '/', 'http://device'));
      if (!handled) {
        res.writeHead(418);
        res.end('fell through');
      }
    })();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })),
  );
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const EXPECTED: Record<string, { status: number; body: string }> = {
  '/hotspot-detect.html': {
    status: 200,
    body: '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>',
  },
  '/library/test/success.html': {
    status: 200,
    body: '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>',
  },
  '/generate_204': { status: 204, body: '' },
  '/gen_204': { status: 204, body: '' },
  '/connecttest.txt': { status: 200, body: 'Microsoft Connect Test' },
  '/ncsi.txt': { status: 200, body: 'Microsoft NCSI' },
  '/success.txt': { status: 200, body: 'success\n' },
};

const PROBE_HOSTS: Record<string, string> = {
  '/hotspot-detect.html': 'captive.apple.com',
  '/library/test/success.html': 'www.apple.com',
  '/generate_204': 'connectivitycheck.gstatic.com',
  '/gen_204': 'clients3.google.com',
  '/connecttest.txt': 'www.msftconnecttest.com',
  '/ncsi.txt': 'www.msftncsi.com',
  '/success.txt': 'detectportal.firefox.com',
};

describe('captive-portal probes', () => {
  let dir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlift-portal-unit-'));
    await writeFile(join(dir, 'index.html'), HTML);
    await writeFile(join(dir, 'app.js'), JS);
    ({ server, port } = await serve(portalRoutes({ agent, apAddress: () => AP, pageDir: dir })));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('knows every probe the brief names, and nothing else', () => {
    expect([...PROBES.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(probeFor('/Hotspot-Detect.html')?.os).toBe('apple');
    expect(probeFor('/index.html')).toBeUndefined();
  });

  for (const [path, want] of Object.entries(EXPECTED)) {
    it(`${path}: redirects to the portal in setup, on its vendor's host and on ours`, async () => {
      inSetup = true;
      for (const host of [PROBE_HOSTS[path] ?? 'x', AP, '127.0.0.1']) {
        const res = await get(port, path, { Host: host });
        expect(res.status).toBe(302);
        expect(res.headers.location).toBe(PORTAL);
        expect(res.headers['cache-control']).toContain('no-store');
      }
    });

    it(`${path}: answers "no portal" out of setup`, async () => {
      inSetup = false;
      const res = await get(port, path, { Host: PROBE_HOSTS[path] ?? 'x' });
      expect(res.status).toBe(want.status);
      expect(res.body.toString('utf8')).toBe(want.body);
      expect(res.headers.location).toBeUndefined();
      const head = await get(port, path, { Host: PROBE_HOSTS[path] ?? 'x' }, 'HEAD');
      expect(head.status).toBe(want.status);
      expect(head.body.length).toBe(0);
    });
  }

  it('redirects any GET for a foreign host to the portal while in setup', async () => {
    inSetup = true;
    const res = await get(port, '/some/page?q=1', { Host: 'example.com' });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(PORTAL);
    const withPort = await get(port, '/', { Host: 'example.com:8080' });
    expect(withPort.headers.location).toBe(PORTAL);
  });

  it('leaves foreign hosts to the API (BAD_HOST) out of setup, and POSTs always', async () => {
    inSetup = false;
    expect((await get(port, '/', { Host: 'example.com' })).status).toBe(418);
    expect((await get(port, '/portal/app.js', { Host: 'evil.example' })).status).toBe(418);
    inSetup = true;
    expect((await get(port, '/v1/rpc', { Host: 'example.com' }, 'POST')).status).toBe(418);
    expect((await get(port, '/generate_204', { Host: 'example.com' }, 'POST')).status).toBe(418);
  });

  it('leaves the API to the API on our own hosts', async () => {
    inSetup = true;
    for (const host of [AP, 'airlift-k7q2m6xa.local', '192.168.50.10', `127.0.0.1:${port}`])
      expect((await get(port, '/v1/info', { Host: host })).status).toBe(418);
  });

  it('isForeignHost strips ports and brackets and ignores case', () => {
    const own = new Set(['10.0.0.1', '::1', 'airlift-x.local']);
    expect(isForeignHost('10.0.0.1:80', own)).toBe(false);
    expect(isForeignHost('[::1]:4780', own)).toBe(false);
    expect(isForeignHost('AIRLIFT-X.local', own)).toBe(false);
    expect(isForeignHost('10.0.0.2', own)).toBe(true);
    expect(isForeignHost(undefined, own)).toBe(false);
  });
});

describe('portal page serving', () => {
  let dir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlift-portal-unit-'));
    await writeFile(join(dir, 'index.html'), HTML);
    await writeFile(join(dir, 'app.js'), JS);
    ({ server, port } = await serve(portalRoutes({ agent, apAddress: () => AP, pageDir: dir })));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the HTML at / with a strict CSP that admits its one inline style by hash', async () => {
    inSetup = true;
    const res = await get(port, '/', { Host: AP });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    const hash = createHash('sha256').update(STYLE).digest('base64');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    const html = res.body.toString('utf8');
    expect(html).toMatch(/src="\/portal\/app\.js\?v=[A-Za-z0-9_-]{12}"/);
    for (const p of ['/portal', '/portal/', '/portal/index.html'])
      expect((await get(port, p, { Host: AP })).body.toString('utf8')).toBe(html);
  });

  it('serves the script gzipped when accepted, immutable when versioned, 304 on a matching ETag', async () => {
    const html = (await get(port, '/', { Host: '127.0.0.1' })).body.toString('utf8');
    const src = /src="([^"]+)"/.exec(html)?.[1] ?? '';
    const plain = await get(port, src, { Host: '127.0.0.1' });
    expect(plain.body.toString('utf8')).toBe(JS);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const gz = await get(port, src, { Host: '127.0.0.1', 'Accept-Encoding': 'gzip, deflate, br' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(gz.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(gz.body).toString('utf8')).toBe(JS);
    const refused = await get(port, src, { Host: '127.0.0.1', 'Accept-Encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const unversioned = await get(port, '/portal/app.js', { Host: '127.0.0.1' });
    expect(unversioned.headers['cache-control']).toBe('no-cache');
    const etag = String(plain.headers.etag);
    const again = await get(port, src, { Host: '127.0.0.1', 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('answers 404 for anything else under /portal/; never maps a path onto the disk', async () => {
    expect((await get(port, '/portal/nothing.js', { Host: AP })).status).toBe(404);
    // Dot segments (also %2e%2e) are resolved before routing: this is /etc/passwd, left to the API.
    expect((await get(port, '/portal/../../etc/passwd', { Host: AP })).status).toBe(418);
  });

  it('answers 503 when the page is not built, and still answers probes', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'airlift-portal-empty-'));
    const s = await serve(portalRoutes({ agent, apAddress: () => AP, pageDir: empty }));
    try {
      inSetup = false;
      expect((await get(s.port, '/', { Host: AP })).status).toBe(503);
      expect((await get(s.port, '/generate_204', { Host: AP })).status).toBe(204);
    } finally {
      s.server.closeAllConnections();
      await new Promise((r) => s.server.close(r));
      await rm(empty, { recursive: true, force: true });
    }
  });
});
