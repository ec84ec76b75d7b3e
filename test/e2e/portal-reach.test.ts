/**
 * The captive portal on a radio without AP+STA (micropython-wifi-setup's promise: "the user is
 * presented with the device's new IP address"), in a real Chromium: the setup network goes away
 * right after `wifi.set` is answered, so the page can never read the result there. It must show
 * what the phone can use instead — the device's `.local` name, and a link — and find the device
 * once the phone is on that network. Here the "setup network" is a portal listener that stops
 * answering 300 ms after the push (as the AP's teardown), and "the phone's own network" is the
 * device's LAN listener, which Chromium reaches at `airlift-k7q2m6xa.local` (a resolver rule plays
 * mDNS). Screenshots go to test-output/portal/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../agent/http/api-server';
import { silentLogger } from '../../agent/log';
import { portalRoutes } from '../../agent/portal/serve';
import { startLabDevice, type LabDevice } from '../../lab/lab-device';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n*** SKIPPING the portal reach test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`,
  );

const DEVICE_ID = 'K7Q2M6XA';
const HOST = 'airlift-k7q2m6xa.local';
const SHOTS = join('test-output', 'portal');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe.skipIf(!hasChromium)('captive portal without AP+STA: where to find the device', () => {
  let device: LabDevice | undefined;
  let portal: Server | undefined;
  let pageDir: string | undefined;
  let profile: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let base: string;
  let lanPort: number;
  let apGone = false;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    pageDir = await mkdtemp(join(tmpdir(), 'airlift-portal-page-'));
    const outdir = pageDir;
    profile = await mkdtemp(join(tmpdir(), 'airlift-portal-chromium-'));
    execFileSync(process.execPath, ['agent/portal/build-page.mjs', '--outdir', outdir], { stdio: 'pipe' });

    lanPort = await freePort();
    const lab = await startLabDevice({
      deviceId: DEVICE_ID,
      setupSecret: 'ABCDEFGHIJKLMNOPQRSTUVWXYQ',
      timeScale: 0.05,
      listen: { host: '127.0.0.1', port: lanPort },
      config: { api: { lanPort } },
      capabilities: { concurrentApSta: false },
    });
    device = lab;
    const { agent, sessions } = lab.running;
    // The setup AP's listener: gone 300 ms after the device starts applying (its teardown).
    const api = createApiServer({
      agent,
      sessions,
      logger: silentLogger,
      allowedHosts: () => new Set(['127.0.0.1', 'localhost', ...agent.addresses()]),
      extraRoutes: portalRoutes({
        agent,
        apAddress: () => agent.status().setupAp.address,
        pageDir: outdir,
        reachOrigins: () => agent.reachOrigins(),
      }),
    });
    api.on('connection', (socket: Socket) => {
      if (apGone) socket.destroy();
    });
    agent.events.subscribe((e) => {
      if (e.type === 'state' && e.state === 'applying')
        setTimeout(() => {
          apGone = true;
          api.closeAllConnections();
        }, 300);
    });
    portal = api;
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

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
        // mDNS, as the phone's OS does it once back on its own network.
        `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
      ],
      viewport: { width: 390, height: 780 },
    });
    context = browser;
    page = browser.pages()[0] ?? (await browser.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    const api = portal;
    if (api) {
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    }
    await device?.close();
    for (const d of [pageDir, profile]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('shows the .local name and a link once the setup network is gone, and finds the device there', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await expect.poll(() => page.locator('#networks button').count(), { timeout: 15_000 }).toBeGreaterThan(2);
    await page.locator('button.net', { hasText: 'LabNet' }).click();
    await page.fill('#password', 'correct horse');
    await page.fill('#code', 'ABCD EFGH IJKL MNOP QRST UVWX YQ');
    await page.click('#submit');
    await page.waitForSelector('#reach:not([hidden])', { timeout: 30_000 });
    expect(await page.locator('#reach-link').textContent()).toBe(HOST);
    expect(await page.locator('#reach-link').getAttribute('href')).toBe(`http://${HOST}:${lanPort}/v1/info`);
    expect(await page.locator('#reach-ssid').textContent()).toBe('LabNet');
    await page.screenshot({ path: join(SHOTS, '10-reach-looking.png'), fullPage: true });
    await expect
      .poll(() => page.locator('#reach-state').textContent(), { timeout: 30_000 })
      .toContain('Found it');
    await page.screenshot({ path: join(SHOTS, '11-reach-found.png'), fullPage: true });
    expect(device?.running.agent.state).toBe('online');
    // The CSP let the page reach the device's name and nothing else; nothing failed on the page.
    expect(errors).toEqual([]);
  }, 90_000);

  it('on a network it was on before, the page also shows the address it will most likely have', async () => {
    const agent = device?.running.agent;
    if (!agent) throw new Error('no device');
    const before = agent.status().ip;
    expect(before).toBeDefined();
    // Back into setup (a technician's ap.start), with the setup network there again.
    apGone = false;
    agent.startAp();
    await expect
      .poll(() => agent.state === 'setup' && agent.status().setupAp.up, { timeout: 15_000 })
      .toBe(true);
    await page.goto(`${base}/`);
    await expect.poll(() => page.locator('#networks button').count(), { timeout: 15_000 }).toBeGreaterThan(2);
    await page.locator('button.net', { hasText: 'LabNet' }).click();
    await page.fill('#password', 'correct horse');
    await page.fill('#code', 'ABCD EFGH IJKL MNOP QRST UVWX YQ');
    await page.click('#submit');
    await page.waitForSelector('#reach:not([hidden])', { timeout: 30_000 });
    expect(await page.locator('#reach-ip').isVisible()).toBe(true);
    expect(await page.locator('#reach-ip-text').textContent()).toBe(before);
    expect(await page.locator('#reach-link').textContent()).toBe(HOST);
    await page.screenshot({ path: join(SHOTS, '12-reach-address-hint.png'), fullPage: true });
    await expect
      .poll(() => page.locator('#reach-state').textContent(), { timeout: 30_000 })
      .toContain('Found it');
  }, 90_000);

  it('the answer to wifi.set carries where to look; a network the device was on before has its address', () => {
    const agent = device?.running.agent;
    if (!agent) throw new Error('no device');
    const labnet = Buffer.from('LabNet').toString('hex');
    const reach = agent.reach(labnet);
    // It was on LabNet just now: its DHCP client will ask for that address there again.
    expect(reach).toEqual({
      host: HOST,
      port: lanPort,
      ipHint: agent.status().ip,
      urls: [`http://${HOST}:${lanPort}/v1/info`, `http://${agent.status().ip ?? ''}:${lanPort}/v1/info`],
    });
    expect(agent.reachOrigins()).toContain(`http://${agent.status().ip ?? ''}:${lanPort}`);
  });
});
