import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../../../main/station/csp';
import {
  allowedAuthority,
  allowedOrigin,
  resolveUiFile,
  tokensMatch,
} from '../../../../main/station/web-host';

describe('the web host answers only to its own names', () => {
  it.each([
    ['127.0.0.1:7770', true],
    ['localhost:7770', true],
    ['LOCALHOST:7770', true],
    ['[::1]:7770', true],
    ['127.0.0.1', false],
    ['127.0.0.1:7771', false],
    ['127.0.0.1.evil.example:7770', false],
    ['evil.example:7770', false],
    ['evil.example', false],
    ['localhost.evil.example:7770', false],
    ['127.1:7770', false],
    ['0x7f000001:7770', false],
    ['[::ffff:127.0.0.1]:7770', false],
    ['10.0.0.5:7770', false],
    ['127.0.0.1:7770:7770', false],
    ['[::1]', false],
    ['[::1:7770', false],
    ['', false],
  ])('Host %j → %s', (host, ok) => {
    expect(allowedAuthority(host, 7770)).toBe(ok);
  });

  it('refuses a missing Host', () => {
    expect(allowedAuthority(undefined, 7770)).toBe(false);
  });

  it.each([
    ['http://127.0.0.1:7770', true],
    ['http://localhost:7770', true],
    ['http://[::1]:7770', true],
    ['https://127.0.0.1:7770', false],
    ['http://127.0.0.1:7770/', false],
    ['http://evil.example', false],
    ['http://127.0.0.1.evil.example:7770', false],
    ['null', false],
    ['file://', false],
  ])('Origin %j → %s', (origin, ok) => {
    expect(allowedOrigin(origin, 7770)).toBe(ok);
  });

  it('refuses a WebSocket without an Origin', () => {
    expect(allowedOrigin(undefined, 7770)).toBe(false);
  });

  it('compares tokens whole', () => {
    expect(tokensMatch('abc', 'abc')).toBe(true);
    expect(tokensMatch('abd', 'abc')).toBe(false);
    expect(tokensMatch('ab', 'abc')).toBe(false);
    expect(tokensMatch('', 'abc')).toBe(false);
  });
});

describe('UI files', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'airlift-ui-'));
    outside = await mkdtemp(join(tmpdir(), 'airlift-outside-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html>');
    await writeFile(join(root, 'assets', 'app.js'), '1');
    await writeFile(join(outside, 'secret.js'), 'x');
    await symlink(join(outside, 'secret.js'), join(root, 'assets', 'link.js'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('serves index.html for / and files under the root', async () => {
    expect(await resolveUiFile(root, '/')).toBe(join(root, 'index.html'));
    expect(await resolveUiFile(root, '/assets/app.js')).toBe(join(root, 'assets', 'app.js'));
  });

  it.each([
    '/../secret.js',
    '/assets/../../secret.js',
    '/%2e%2e/secret.js',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.js',
    '/assets\\..\\..\\secret.js',
    '/assets/link.js',
    '/assets/app.js%00.png',
    '/%zz',
    '/assets/',
    '/etc/passwd',
    '/assets/app.exe',
  ])('refuses %j', async (path) => {
    expect(await resolveUiFile(root, path)).toBeUndefined();
  });
});

describe('CSP', () => {
  it('allows only the app itself', () => {
    const web = contentSecurityPolicy({ connect: 'self' });
    expect(web).toContain("default-src 'none'");
    expect(web).toContain("script-src 'self'");
    expect(web).toContain("connect-src 'self'");
    expect(web).toContain("frame-ancestors 'none'");
    expect(web).not.toContain('unsafe');
    expect(contentSecurityPolicy({ connect: 'none' })).toContain("connect-src 'none'");
    expect(contentSecurityPolicy({ connect: 'self', styleNonce: 'n0nce' })).toContain(
      "style-src 'self' 'nonce-n0nce'",
    );
  });
});
