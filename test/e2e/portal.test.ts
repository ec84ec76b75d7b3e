/**
 * The captive portal in a real Chromium (quality.md "End to end"): a lab device whose API server
 * carries the portal routes; the page lists networks, opens the SPAKE2+ session in the browser,
 * sends wifi.set and shows where the device went (or why it could not join). Screenshots of each
 * step go to test-output/portal/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../agent/http/api-server';
import { silentLogger } from '../../agent/log';
import { portalRoutes } from '../../agent/portal/serve';
import { startLabDevice, type LabDevice } from '../../lab/lab-device';
import type { DeviceStatus } from '../../shared/protocol/api';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n*** SKIPPING the captive portal browser test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`,
  );

const DEVICE_ID = 'K7Q2M6XA';
const SECRET_AS_TYPED = 'abcd efgh ijkl mnop qrst uvwx yq';
const SHOTS = join('test-output', 'portal');

describe.skipIf(!hasChromium)('captive portal in Chromium', () => {
  let device: LabDevice | undefined;
  let server: Server | undefined;
  let base: string;
  let pageDir: string | undefined;
  let profile: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page;

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const status = async (): Promise<DeviceStatus> =>
    (await (await fetch(`${base}/v1/status`)).json()) as DeviceStatus;
  const until = async (pred: (s: DeviceStatus) => boolean, what: string) => {
    const end = Date.now() + 15_000;
    for (;;) {
      const s = await status();
      if (pred(s)) return s;
      if (Date.now() > end) expect.fail(`timed out waiting for ${what}; last: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    pageDir = await mkdtemp(join(tmpdir(), 'airlift-portal-page-'));
    const outdir = pageDir;
    profile = await mkdtemp(join(tmpdir(), 'airlift-portal-chromium-'));
    execFileSync(process.execPath, ['agent/portal/build-page.mjs', '--outdir', outdir], { stdio: 'pipe' });

    const lab = await startLabDevice({
      deviceId: DEVICE_ID,
      setupSecret: 'ABCDEFGHIJKLMNOPQRSTUVWXYQ',
      timeScale: 0.05,
    });
    device = lab;
    const { agent, sessions } = lab.running;
    const api = createApiServer({
      agent,
      sessions,
      logger: silentLogger,
      allowedHosts: () => new Set(['127.0.0.1', 'localhost', ...agent.addresses()]),
      extraRoutes: portalRoutes({ agent, apAddress: () => agent.status().setupAp.address, pageDir: outdir }),
    });
    server = api;
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    await until((s) => s.state === 'setup' && s.setupAp.up, 'setup');

    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 390, height: 780 },
    });
    context = browser;
    page = browser.pages()[0] ?? (await browser.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    const api = server;
    if (api) {
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    }
    await device?.close();
    for (const d of [pageDir, profile]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('makes no request to anywhere but the device, and reports no errors', async () => {
    const foreign: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) foreign.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${base}/`);
    await expect.poll(() => page.locator('#networks button').count()).toBeGreaterThan(2);
    await expect.poll(() => page.locator('#device').textContent()).toContain(DEVICE_ID);
    await shot('01-networks');
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    // Signal bars: LabNet (-45 dBm) has all four lit.
    expect(await page.locator('button.net', { hasText: 'LabNet' }).locator('i.on').count()).toBe(4);
  });

  it('refuses a wrong setup code with a clear message', async () => {
    await page.locator('button.net', { hasText: 'LabNet' }).click();
    await page.fill('#password', 'correct horse');
    await page.fill('#code', 'AAAA AAAA AAAA AAAA AAAA AAAA AA');
    await page.click('#submit');
    await expect
      .poll(() => page.locator('#form-error').textContent(), { timeout: 15_000 })
      .toContain('setup code is wrong');
    await shot('02-wrong-setup-code');
  });

  it('a wrong Wi-Fi password shows auth_failed once the device reopens setup', async () => {
    await page.fill('#password', 'wrong horse');
    await page.fill('#code', SECRET_AS_TYPED);
    await shot('03-form-wrong-password');
    await page.click('#submit');
    await page.waitForSelector('#progress:not([hidden])');
    await shot('04-progress');
    await page.waitForSelector('#failed:not([hidden])', { timeout: 20_000 });
    expect(await page.locator('#failed-reason').textContent()).toBe('auth_failed');
    expect(await page.locator('#failed-text').textContent()).toContain('password was not accepted');
    await shot('05-failed-auth');
    const s = await until((st) => st.state === 'setup', 'setup reopened');
    expect(s.lastAttempt?.reason).toBe('auth_failed');
  });

  it('the right password shows the success view with the new IP and .local name', async () => {
    await page.click('#retry');
    await page.fill('#password', 'correct horse');
    await page.fill('#code', SECRET_AS_TYPED);
    await shot('06-form-correct');
    await page.click('#submit');
    await page.waitForSelector('#done:not([hidden])', { timeout: 20_000 });
    const s = await status();
    expect(s.state).toBe('online');
    expect(s.ssid).toBe('LabNet');
    const ip = await page.locator('#done-ip').textContent();
    expect(ip).toMatch(/^192\.168\.50\.\d+$/);
    expect(ip).toBe(s.ip);
    expect(await page.locator('#done-host').textContent()).toBe('airlift-k7q2m6xa.local');
    expect(await page.locator('#done-ssid').textContent()).toBe('LabNet');
    await shot('07-success');
  });
});
