/**
 * The station UI against a TEST DOUBLE of the station (test/helpers/fake-station.ts), for what the
 * real lab station cannot stage on demand: an empty bench, a station that goes away and comes
 * back, notices. The whole flow runs against the real station in station-ui.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStation, type FakeStation } from '../helpers/fake-station';
import { buildStationUi } from './station-ui-build';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n*** SKIPPING the station UI fake-station test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`,
  );
const SHOTS = join('test-output', 'station');
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!hasChromium)('station UI on a fake station', () => {
  let uiDir: string;
  let browser: Browser;
  const stations: FakeStation[] = [];

  async function open(station: FakeStation): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const problems: string[] = [];
    await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
      console.error('CSP violation: ' + e.violatedDirective))`);
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // A refused WebSocket while the fake "restarts" is expected; anything else is a problem.
      if (m.type() === 'error' && !/WebSocket/.test(m.text())) problems.push(m.text());
    });
    await page.goto(station.url);
    await page.locator('.nav').waitFor({ timeout: 20_000 });
    return { page, problems };
  }

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    uiDir = await buildStationUi();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser.close().catch(() => undefined);
    for (const s of stations) await s.close();
    if (uiDir) await rm(uiDir, { recursive: true, force: true });
  });

  it('an empty bench says what to do next on every screen', async () => {
    const station = await startFakeStation({ rendererDir: uiDir, empty: true });
    stations.push(station);
    const { page, problems } = await open(station);
    await page.getByText('Import a manifest, scan a label, or put devices in setup mode.').waitFor();
    await page.screenshot({ path: join(SHOTS, 'fake-01-empty-devices.png') });
    const expected: [string, RegExp][] = [
      ['Profiles', /No profiles yet/],
      ['Pre-flight', /No devices selected/],
      ['Run', /No job is running/],
      ['Results', /No job yet/],
      ['History', /No jobs yet/],
    ];
    for (const [tab, text] of expected) {
      await page.getByRole('tab', { name: new RegExp(`^${tab}`) }).click();
      await page.getByText(text).waitFor();
      await page.screenshot({ path: join(SHOTS, `fake-02-empty-${tab.toLowerCase()}.png`) });
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('notices arrive as toasts in a live region; errors stay until dismissed', async () => {
    const station = await startFakeStation({ rendererDir: uiDir, devices: 20 });
    stations.push(station);
    const { page, problems } = await open(station);
    station.notice('warn', 'Scan failed on wlan2: the adapter is busy');
    station.notice('error', 'wlan1 vanished; the job continues on wlan2');
    const region = page.getByRole('region', { name: 'Notices' });
    await region.getByText('Scan failed on wlan2').waitFor();
    await region.getByText('wlan1 vanished').waitFor();
    expect(await region.locator('[aria-live=polite]').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'fake-03-toasts.png') });
    await region
      .locator('.toast', { hasText: 'wlan1 vanished' })
      .getByRole('button', { name: 'Dismiss notice' })
      .click();
    await expect.poll(() => region.getByText('wlan1 vanished').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it('a station that goes away: the page says so, reconnects, and catches up from a fresh snapshot', async () => {
    const station = await startFakeStation({ rendererDir: uiDir, devices: 30 });
    stations.push(station);
    const { page, problems } = await open(station);
    await expect.poll(() => page.locator('.nav-count').first().textContent()).toBe('30');
    // Changed with no event (as if while the page was away): only a fresh snapshot shows it.
    const gone = station.deviceIds()[0] ?? '';
    station.removeDeviceSilently(gone);
    station.dropConnections(2500);
    await page.getByText('Connection to the station lost.').waitFor({ timeout: 5000 });
    expect(await page.locator('.conn').textContent()).toMatch(/Reconnecting/);
    expect(await page.locator('.nav-count').first().textContent()).toBe('30');
    await page.screenshot({ path: join(SHOTS, 'fake-04-reconnecting.png') });
    await expect.poll(() => page.locator('.conn').textContent(), { timeout: 15_000 }).toContain('Connected');
    await expect.poll(() => page.locator('.nav-count').first().textContent()).toBe('29');
    expect(await page.getByRole('rowheader', { name: gone }).count()).toBe(0);
    expect(await page.getByText('Connection to the station lost.').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 40_000);

  it('virtualised: a bench of 400 keeps a bounded DOM with real column widths', async () => {
    const station = await startFakeStation({ rendererDir: uiDir, devices: 400 });
    stations.push(station);
    const { page, problems } = await open(station);
    await expect.poll(() => page.locator('.nav-count').first().textContent()).toBe('400');
    expect(await page.locator('[role=grid] [role=row]').count()).toBeLessThan(80);
    const widths = await page.evaluate<number[]>(
      "[...document.querySelectorAll('[role=columnheader]')].map((e) => e.getBoundingClientRect().width)",
    );
    expect(Math.max(...widths)).toBeLessThan(1440);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);
});
