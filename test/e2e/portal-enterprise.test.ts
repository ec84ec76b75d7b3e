/**
 * The captive portal with an Enterprise network, in a real Chromium: a lab device in an airspace
 * with an 802.1X access point (lab/airspace.ts's RADIUS server, the lab PKI). The page shows the
 * sign-in fields for a scanned enterprise network, takes the CA as a DER file from the phone,
 * refuses to send without a CA unless told, shows cert_rejected for a CA that did not sign the
 * server, and joins with a static address. Screenshots go to test-output/portal/.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../agent/http/api-server';
import { silentLogger } from '../../agent/log';
import { portalRoutes } from '../../agent/portal/serve';
import { Airspace, ssidHexOf } from '../../lab/airspace';
import { startLabDevice, type LabDevice } from '../../lab/lab-device';
import type { DeviceStatus } from '../../shared/protocol/api';
import { PKI } from '../fixtures/pki/pki';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n*** SKIPPING the portal Enterprise test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`,
  );

const DEVICE_ID = 'K7Q2M6XA';
const SECRET_AS_TYPED = 'abcd efgh ijkl mnop qrst uvwx yq';
const SHOTS = join('test-output', 'portal');
const IDENTITY = 'alice@lab.example';
const PASSWORD = 'pa}ss"#\\word';

describe.skipIf(!hasChromium)('captive portal: an Enterprise network in Chromium', () => {
  let device: LabDevice | undefined;
  let server: Server | undefined;
  let base: string;
  let dir: string | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let caDer: string;
  let rogueCa: string;

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
    dir = await mkdtemp(join(tmpdir(), 'airlift-portal-eap-'));
    const pageDir = join(dir, 'page');
    execFileSync(process.execPath, ['agent/portal/build-page.mjs', '--outdir', pageDir], { stdio: 'pipe' });
    // What a site hands out: the CA as DER (.cer), and a wrong one as PEM.
    caDer = join(dir, 'site-ca.cer');
    await writeFile(caDer, new X509Certificate(PKI.ca).raw);
    rogueCa = join(dir, 'rogue-ca.pem');
    await writeFile(rogueCa, PKI.rogueCa);

    const airspace = Airspace.withDefaults();
    airspace.addAp({
      ssidHex: ssidHexOf('CorpNet'),
      bssid: '02:00:00:00:01:01',
      security: 'enterprise',
      enterprise: {
        methods: ['peap', 'ttls'],
        users: [{ identity: IDENTITY, password: PASSWORD }],
        serverCert: PKI.server,
        clientCas: [],
      },
      frequency: 2462,
      signal: -40,
      subnet: '192.168.100.0/24',
      internet: true,
    });
    const lab = await startLabDevice({
      deviceId: DEVICE_ID,
      setupSecret: 'ABCDEFGHIJKLMNOPQRSTUVWXYQ',
      timeScale: 0.05,
      airspace,
    });
    device = lab;
    const { agent, sessions } = lab.running;
    const api = createApiServer({
      agent,
      sessions,
      logger: silentLogger,
      allowedHosts: () => new Set(['127.0.0.1', 'localhost', ...agent.addresses()]),
      extraRoutes: portalRoutes({ agent, apAddress: () => agent.status().setupAp.address, pageDir }),
    });
    server = api;
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    await until((s) => s.state === 'setup' && s.setupAp.up, 'setup');

    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      viewport: { width: 390, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    const api = server;
    if (api) {
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    }
    await device?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const fillSignIn = async () => {
    await page.selectOption('#eap-method', 'peap');
    await page.fill('#identity', IDENTITY);
    await page.fill('#password', PASSWORD);
    await page.fill('#code', SECRET_AS_TYPED);
  };

  it('a scanned enterprise network asks for a user name, a password and the CA', async () => {
    await page.goto(`${base}/`);
    const corp = page.locator('button.net', { hasText: 'CorpNet' });
    await expect.poll(() => corp.count()).toBe(1);
    expect(await corp.locator('.tag').textContent()).toBe('enterprise');
    await corp.click();
    expect(await page.locator('#eap-box').isVisible()).toBe(true);
    expect(await page.locator('#password-label').textContent()).toBe('Password');
    await fillSignIn();
    await page.click('#submit');
    expect(await page.locator('#form-error').textContent()).toContain('CA certificate');
    await page.check('#insecure');
    expect(await page.locator('#insecure-warn').isVisible()).toBe(true);
    await shot('11-enterprise-form-insecure');
    await page.uncheck('#insecure');
  });

  it('a CA that did not sign the server: cert_rejected, said in a technician’s words', async () => {
    await page.setInputFiles('#ca-file', rogueCa);
    await fillSignIn();
    await page.click('#submit');
    await page.waitForSelector('#failed:not([hidden])', { timeout: 20_000 });
    expect(await page.locator('#failed-reason').textContent()).toBe('cert_rejected');
    expect(await page.locator('#failed-text').textContent()).toContain('CA certificate');
    await shot('12-enterprise-cert-rejected');
    await until((s) => s.state === 'setup' && s.setupAp.up, 'setup reopened');
  });

  it('the site’s CA as a DER file and a static address: joined, at that address', async () => {
    await page.click('#retry');
    await page.setInputFiles('#ca-file', caDer);
    await page.fill('#domain', 'lab.example');
    await fillSignIn();
    await page.locator('#static-box summary').click();
    await page.fill('#ipv4', '192.168.100.42/24');
    await page.fill('#gateway', '192.168.100.1');
    await page.fill('#dns', '192.168.100.1');
    await shot('13-enterprise-form');
    await page.click('#submit');
    await page.waitForSelector('#done:not([hidden])', { timeout: 20_000 });
    expect(await page.locator('#done-ip').textContent()).toBe('192.168.100.42');
    expect(await page.locator('#done-static').isVisible()).toBe(true);
    const s = await status();
    expect(s.ssid).toBe('CorpNet');
    expect(s.lastAttempt).toMatchObject({ result: 'ok', ip: '192.168.100.42', addressing: 'static' });
    await shot('14-enterprise-done');
  });
});
