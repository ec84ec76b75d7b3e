/**
 * The station UI in a real Chromium against the real station (quality.md "End to end"): the lab's
 * `airlift station --lab` (real agents on simulated radios, the real station service and web host
 * with its CSP and token) serving the UI built from renderer/. The whole flow a technician walks —
 * import a manifest, scan a label, select devices, make a profile, pre-flight, run a job with faults,
 * watch it, reload in the middle, retry the failure group, export the report — then a keyboard-only
 * pass, axe-core on every screen, and a bench of 500 devices. Screenshots go to test-output/station/.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabStation, type LabStation } from '../../lab/station';
import { FAILURE_REASON_HELP } from '../../shared/failure-reasons';
import { parseManifest } from '../../shared/manifest';
import { reportSchema } from '../../shared/protocol/job';
import { encodeQrPayload } from '../../shared/qr';
import { snapshotSchema } from '../../shared/station-api';
import { buildStationUi } from './station-ui-build';
import { PKI } from '../fixtures/pki/pki';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n*** SKIPPING the station UI browser test: ${CHROMIUM} is missing (apt-get install -y chromium) ***\n`,
  );

const SHOTS = join('test-output', 'station');
const LAB_PASSWORD = 'correct horse';
const ENTERPRISE_PASSWORD = 'Ent3rprise-pw-never-shown';
const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface Watched {
  page: Page;
  problems: string[];
}

/** A page whose CSP violations, page errors and console errors are collected. */
async function openPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const problems: string[] = [];
  // In the page (a string: this file compiles without the DOM's types).
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    console.error('CSP violation: ' + e.violatedDirective + ' ' + e.sourceFile + ':' + e.lineNumber))`);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's serious and critical findings on the page as it is now, leaving out react-aria's
 * spoken announcements: a pending Button announces itself as `<div role="img" aria-labelledby="its
 * id">`, and the node stays 7 s, already spoken, after the button may have gone with its screen;
 * axe then sees a label pointing nowhere.
 */
async function axe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate("'axe' in window"))) await page.evaluate(axeSource);
  const found = await page.evaluate<
    AxeViolation[]
  >(`axe.run({ exclude: [['[data-live-announcer] [role="img"]']] }, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) })))`);
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const screenTab = (page: Page, name: string) => page.getByRole('tab', { name: new RegExp(`^${name}`) });

async function go(page: Page, name: string): Promise<void> {
  await screenTab(page, name).click();
  await expect.poll(() => screenTab(page, name).getAttribute('aria-selected')).toBe('true');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Tab (or Shift+Tab) until `pred` holds for the focused element, at most `max` presses. */
async function tabUntil(page: Page, pred: string, back = false, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate(pred)) return;
  }
  throw new Error(`focus never reached: ${pred}`);
}

describe.skipIf(!hasChromium)('station UI against the real station (lab)', () => {
  let uiDir: string;
  let station: LabStation;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let manifest: { deviceId: string; setupSecret: string; name?: string }[];
  let firstJobId = '';

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    uiDir = await buildStationUi();
    station = await startLabStation({
      devices: 12,
      faults: true,
      rendererDir: uiDir,
      port: 0,
      timeScale: 0.25,
    });
    manifest = parseManifest(await readFile(station.manifestPath, 'utf8')).entries;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    ({ page, problems } = await openPage(context));
  }, 180_000);

  afterAll(async () => {
    await context.close().catch(() => undefined);
    await browser.close().catch(() => undefined);
    await station.close().catch(() => undefined);
    if (uiDir) await rm(uiDir, { recursive: true, force: true });
  }, 60_000);

  it('opens with the token from the link, then drops it from the address bar', async () => {
    await page.goto(station.url);
    await expect.poll(() => page.locator('.conn').textContent(), { timeout: 20_000 }).toContain('Connected');
    expect(await page.evaluate('location.hash')).toBe('');
    expect(await page.evaluate('Object.values(sessionStorage).some((v) => v.length > 16)')).toBe(true);
    // Devices in setup mode show up on their own (the lab's adapters hear their APs), without secrets.
    await expect.poll(() => page.locator('[role=row]').count(), { timeout: 30_000 }).toBeGreaterThan(5);
    await shot(page, 'e2e-01-devices-discovered');
  }, 60_000);

  it('refuses a wrong token with what to do, never showing the station', async () => {
    const { page: other } = await openPage(await browser.newContext());
    await other.goto(station.url.replace(/#token=.*/, '#token=not-the-token'));
    await other.getByText('This page is not connected to a station').waitFor({ timeout: 15_000 });
    expect(await other.getByRole('alert').textContent()).toContain('airlift station');
    expect(await other.locator('.nav').count()).toBe(0);
    await shot(other, 'e2e-02-wrong-token');
    await other.context().close();
  }, 30_000);

  it('imports the manifest through the file picker and says what it did', async () => {
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: /Import manifest/ }).click();
    await (await chooser).setFiles(station.manifestPath);
    const result = page.getByText(/Imported lab-manifest\.csv: \d+ added, \d+ updated/);
    await result.waitFor({ timeout: 15_000 });
    expect(await result.textContent()).toContain(`${manifest.length} devices in the file`);
    // Every device now has its secret; none of the secrets is anywhere in the page.
    await page.getByRole('radio', { name: /Needs attention/ }).click();
    await page.getByRole('radio', { name: /^All/ }).click();
    const text = await page.locator('body').innerText();
    for (const m of manifest) expect(text).not.toContain(m.setupSecret);
    await shot(page, 'e2e-03-manifest-imported');
  }, 30_000);

  it('takes scanned labels continuously: clears, confirms, de-duplicates, keeps no payload', async () => {
    const field = page.getByRole('textbox', { name: 'Scan or paste a label code' });
    const [a, b] = manifest;
    if (!a || !b) throw new Error('lab manifest too small');
    const codeA = encodeQrPayload({ deviceId: a.deviceId, setupSecret: a.setupSecret });
    const codeB = encodeQrPayload({ deviceId: b.deviceId, setupSecret: b.setupSecret });
    // A scanner types fast and ends with Enter, label after label.
    await field.pressSequentially(codeA, { delay: 2 });
    await field.press('Enter');
    expect(await field.inputValue()).toBe('');
    await field.pressSequentially(codeB, { delay: 2 });
    await field.press('Enter');
    await field.pressSequentially(codeA, { delay: 2 });
    await field.press('Enter');
    await field.pressSequentially('NOT-A-LABEL', { delay: 2 });
    await field.press('Enter');
    const log = page.getByRole('list', { name: 'Scanned labels' });
    await expect
      .poll(() => log.textContent(), { timeout: 10_000 })
      .toContain(`${a.deviceId} already scanned`);
    await expect.poll(() => log.textContent()).toContain('Not an Airlift code');
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain(`${b.deviceId} already known`);
    const html = await page.content();
    expect(html).not.toContain(a.setupSecret);
    expect(html).not.toContain(b.setupSecret);
    await shot(page, 'e2e-04-labels-scanned');
  }, 30_000);

  it('selects with the keyboard: Space, Shift+arrows for a range, Ctrl+A for all shown', async () => {
    const grid = page.getByRole('grid', { name: 'Devices' });
    await grid.locator('[role=row]').nth(1).click(); // focus the first body row (and select it)
    await expect.poll(() => page.locator('.selection-bar').textContent()).toContain('1 selected');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await expect.poll(() => page.locator('.selection-bar').textContent()).toContain('3 selected');
    await page.keyboard.press('ControlOrMeta+a');
    const total = await page.locator('.nav-count').first().textContent();
    await expect.poll(() => page.locator('.selection-bar').textContent()).toContain(`${total} selected`);
    await expect
      .poll(() => page.getByRole('button', { name: /^Provision \d+ selected/ }).isEnabled())
      .toBe(true);
    await shot(page, 'e2e-05-all-selected');
  }, 30_000);

  it('makes a profile from what the selected devices hear; the password is never shown again', async () => {
    await go(page, 'Profiles');
    await page.getByRole('button', { name: /New profile/ }).click();
    await page.getByRole('textbox', { name: 'Profile name' }).fill('Lab bench');
    const heard = page.getByRole('grid', { name: /Networks heard/ });
    const labNet = heard.getByRole('row', { name: /LabNet/ });
    await labNet.waitFor({ timeout: 20_000 });
    await labNet.click();
    expect(await page.getByRole('combobox', { name: /Network/ }).inputValue()).toBe('LabNet');
    await page.getByLabel('Password', { exact: true }).fill(LAB_PASSWORD);
    await shot(page, 'e2e-06-profile-new');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText(/A password is held \(this session only\)/).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('button', { name: 'Replace password' }).isVisible()).toBe(true);
    expect(await page.locator('input[type=password]').count()).toBe(0);
    expect(await page.content()).not.toContain(LAB_PASSWORD);
    await shot(page, 'e2e-07-profile-saved');
  }, 40_000);

  it('an Enterprise profile: method, identity, CA pasted, checked inline; secrets held, never shown; the opt-out warned', async () => {
    await go(page, 'Profiles');
    await page.getByRole('button', { name: /New profile/ }).click();
    await page.getByRole('textbox', { name: 'Profile name' }).fill('Hospital staff');
    await page.getByRole('combobox', { name: /Network/ }).fill('Hospital-Staff');
    // Close the heard-networks list the name field opened.
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: /WPA2 personal.*Security|Security.*WPA2 personal/ }).click();
    await page.getByRole('option', { name: /WPA2 Enterprise/ }).click();
    await page.getByText(/Static IPv4 instead of DHCP/).click();
    await page.getByRole('textbox', { name: 'Address / prefix' }).fill('10.20.0.40/24');
    await page.getByRole('textbox', { name: 'Gateway' }).fill('10.20.1.1');
    await page.getByRole('button', { name: 'Save profile' }).click();
    // Every problem inline, in the shared rules' words; nothing saved.
    await page.getByText('Type the password').waitFor();
    await page.getByText(/Add the site's CA certificate/).waitFor();
    await page
      .getByText(/gateway 10\.20\.1\.1 is not in 10\.20\.0\.0\/24|gateway/i)
      .first()
      .waitFor();
    await shot(page, 'e2e-07b-enterprise-problems');
    await page.getByRole('textbox', { name: 'Identity', exact: true }).fill('svc-sensors@hospital.example');
    await page.getByRole('textbox', { name: /^Password/ }).fill(ENTERPRISE_PASSWORD);
    await page
      .getByRole('textbox', { name: /CA certificate/ })
      .fill('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
    await page.getByRole('textbox', { name: 'Gateway' }).fill('10.20.0.1');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await expect.poll(() => page.locator('.field-error').allTextContents()).not.toEqual([]);
    await page.getByRole('textbox', { name: /CA certificate/ }).fill(PKI.ca);
    await page.getByRole('textbox', { name: /Server domain/ }).fill('radius.hospital.example');
    await shot(page, 'e2e-07c-enterprise-filled');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText(/Password \(held; type to replace\)/).waitFor({ timeout: 10_000 });
    expect(await page.getByText('Set', { exact: true }).count()).toBeGreaterThan(0);
    const html = await page.content();
    expect(html).not.toContain(ENTERPRISE_PASSWORD);
    expect(html).not.toContain('BEGIN CERTIFICATE');
    await shot(page, 'e2e-07d-enterprise-saved');
    await page.getByText(/Do not validate the server/).click();
    await page.getByText('Devices will not check who they sign in to').waitFor();
    await shot(page, 'e2e-07e-enterprise-no-validation-warning');
    // Back to the profile the rest of the flow uses.
    await page.getByRole('option', { name: /Lab bench/ }).click();
  }, 40_000);

  it('pre-flight: checks each with its fix; Start only without blocking problems', async () => {
    await go(page, 'Pre-flight');
    await page
      .getByRole('button', { name: /Choose a profile|Lab bench/ })
      .first()
      .click();
    await page.getByRole('option', { name: /Lab bench/ }).click();
    // Choosing the profile runs the checks (with a survey of a few devices' own scans).
    await page
      .getByText(/Ready to start|Ready, with|blocks? the start/)
      .first()
      .waitFor({ timeout: 60_000 });
    const blocked = await page.locator('.check-block').count();
    const start = page.getByRole('button', { name: /Start provisioning/ });
    expect(await start.isEnabled()).toBe(blocked === 0);
    await shot(page, 'e2e-08-preflight');
    expect(blocked).toBe(0);
  }, 90_000);

  it('runs the job with faults; progress is live; a reload in the middle reattaches', async () => {
    await page.getByRole('button', { name: /Start provisioning/ }).click();
    await expect
      .poll(() => screenTab(page, 'Run').getAttribute('aria-selected'), { timeout: 15_000 })
      .toBe('true');
    await page.getByRole('progressbar').first().waitFor();
    const jobIdText = page.locator('.screen-sub .mono');
    firstJobId = (await jobIdText.textContent()) ?? '';
    expect(firstJobId).not.toBe('');
    await expect
      .poll(
        async () => Number((await page.getByRole('progressbar').first().getAttribute('aria-valuenow')) ?? 0),
        { timeout: 60_000 },
      )
      .toBeGreaterThan(0);
    await shot(page, 'e2e-09-run-live');
    const before = Number(await page.getByRole('progressbar').first().getAttribute('aria-valuenow'));
    await page.reload();
    // The same job, on the same screen, no further back than before the reload.
    await expect
      .poll(() => page.locator('.screen-sub .mono').textContent(), { timeout: 20_000 })
      .toBe(firstJobId);
    expect(
      Number(await page.getByRole('progressbar').first().getAttribute('aria-valuenow')),
    ).toBeGreaterThanOrEqual(before);
    await shot(page, 'e2e-10-run-after-reload');
    await page.getByRole('heading', { name: /^Finished/ }).waitFor({ timeout: 180_000 });
    await shot(page, 'e2e-11-run-finished');
    // The reload changed nothing on the station's side: every device was sent the network once.
    const { info } = snapshotSchema.parse(await station.service.call('getSnapshot', {}));
    const journal = await readFile(join(info.jobsDir, `${firstJobId}.jsonl`), 'utf8');
    const pushes = new Map<string, number>();
    for (const line of journal.split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { t: string; step?: string; deviceId?: string };
      if (r.t === 'step' && r.step === 'pushing' && r.deviceId !== undefined)
        pushes.set(r.deviceId, (pushes.get(r.deviceId) ?? 0) + 1);
    }
    expect(pushes.size).toBeGreaterThan(0);
    expect([...pushes.values()].every((n) => n === 1)).toBe(true);
  }, 240_000);

  it('results: verified against failed, failures grouped by reason with title and fix', async () => {
    await page.getByRole('button', { name: /Open results/ }).click();
    await page.getByRole('heading', { name: /failures? in \d+ groups?/ }).waitFor({ timeout: 20_000 });
    const groups = page.locator('.group-card');
    expect(await groups.count()).toBeGreaterThanOrEqual(1);
    // Each group is explained in the technician's words.
    const tokens = await page.locator('.group-token').allTextContents();
    for (const t of tokens) {
      const help = (FAILURE_REASON_HELP as Record<string, { title: string; fix: string }>)[t];
      if (!help) continue;
      expect(await page.locator('.group-card', { hasText: t }).textContent()).toContain(help.title);
      expect(await page.locator('.group-card', { hasText: t }).textContent()).toContain(help.fix);
    }
    expect(tokens).toContain('auth_failed');
    // Verified devices carry their new address, .local name and a link to their page.
    const link = page.locator('a[href^="http://"][rel="noopener noreferrer"]').first();
    await link.waitFor();
    expect(await link.getAttribute('target')).toBe('_blank');
    await shot(page, 'e2e-12-results');
  }, 40_000);

  it('exports the report as CSV and JSON', async () => {
    const csvDownload = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = await readFile(await (await csvDownload).path(), 'utf8');
    for (const m of manifest) expect(csv).toContain(m.deviceId);
    const jsonDownload = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export JSON' }).click();
    const json: unknown = JSON.parse(await readFile(await (await jsonDownload).path(), 'utf8'));
    const report = reportSchema.parse(json);
    expect(report.job.id).toBe(firstJobId);
    expect(report.summary.failed).toBeGreaterThan(0);
  }, 30_000);

  it('retries a failure group in one click and shows it running', async () => {
    const group = page.locator('.group-card').first();
    const ids = await group.locator('.chip').allTextContents();
    await group.getByRole('button', { name: /^Retry/ }).click();
    await expect
      .poll(() => screenTab(page, 'Run').getAttribute('aria-selected'), { timeout: 15_000 })
      .toBe('true');
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent(), { timeout: 15_000 })
      .toMatch(/^(Running|Finished)/);
    for (const id of ids)
      await page.getByRole('rowheader', { name: id }).first().waitFor({ timeout: 20_000 });
    await page.getByRole('heading', { name: /^Finished/ }).waitFor({ timeout: 120_000 });
    await shot(page, 'e2e-13-retry-finished');
  }, 180_000);

  it('history lists the jobs and opens their reports', async () => {
    await go(page, 'History');
    await page.getByRole('row', { name: new RegExp(firstJobId) }).waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-14-history');
    await page
      .getByRole('row', { name: new RegExp(firstJobId) })
      .getByRole('button', { name: 'Report' })
      .click();
    await expect.poll(() => screenTab(page, 'Results').getAttribute('aria-selected')).toBe('true');
    await page.getByText(firstJobId).first().waitFor();
  }, 30_000);

  it('settings are validated before they are saved', async () => {
    await go(page, 'Settings');
    const chunk = page.getByRole('textbox', { name: /Chunk size/ });
    await chunk.fill('10');
    await chunk.press('Tab');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-15-settings');
  }, 30_000);

  it('device details and its log, Identify', async () => {
    await go(page, 'Devices');
    await page
      .getByRole('button', { name: /^Details of / })
      .first()
      .click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Show log' }).click();
    await dialog
      .getByRole('list', { name: /^Log of / })
      .or(dialog.getByText(/Nothing logged/))
      .waitFor({ timeout: 10_000 });
    await shot(page, 'e2e-16-device-detail');
    await dialog.getByRole('button', { name: /Identify/ }).click();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  }, 30_000);

  it('keyboard only: screens, selection, details, pre-flight and results, with visible focus', async () => {
    const { page: kb, problems: kbProblems } = await openPage(context);
    await kb.goto(station.url);
    await kb.locator('.nav').waitFor({ timeout: 20_000 });
    const focusedRole = () =>
      kb.evaluate("document.activeElement?.getAttribute('role') ?? document.activeElement?.tagName ?? ''");
    /** The focused element draws a focus ring (react-aria's data-focus-visible, or an outline). */
    const focusVisible = () =>
      kb.evaluate(`(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return false;
        const s = getComputedStyle(el);
        return el.hasAttribute('data-focus-visible') || (s.outlineStyle !== 'none' && s.outlineWidth !== '0px');
      })()`);

    await tabUntil(kb, "document.activeElement?.getAttribute('role') === 'tab'");
    expect(await focusVisible()).toBe(true);
    await kb.keyboard.press('Home');
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();

    // Into the table; select all shown; open a device's details and close them.
    await tabUntil(kb, "!!document.activeElement?.closest('[role=grid]')");
    expect(await focusVisible()).toBe(true);
    await kb.keyboard.press('ArrowDown');
    await kb.keyboard.press('ControlOrMeta+a');
    await expect.poll(() => kb.locator('.selection-bar').textContent()).toMatch(/\d+ selected/);
    for (let i = 0; i < 14; i++) {
      const label = await kb.evaluate<string>("document.activeElement?.getAttribute('aria-label') ?? ''");
      if (label.startsWith('Details of')) break;
      await kb.keyboard.press('ArrowRight');
    }
    await kb.keyboard.press('Enter');
    await kb.getByRole('dialog').waitFor();
    await kb.keyboard.press('Escape');
    await expect.poll(() => kb.getByRole('dialog').count()).toBe(0);

    // Back to the navigation, on to Pre-flight: Start is reachable.
    await tabUntil(kb, "document.activeElement?.getAttribute('role') === 'tab'", true);
    await kb.keyboard.press('Home');
    await kb.keyboard.press('ArrowDown');
    await kb.keyboard.press('ArrowDown');
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: 'Pre-flight', level: 1 }).waitFor();
    await tabUntil(
      kb,
      "/Start provisioning/.test(document.activeElement?.textContent ?? '') || /Check again|Run checks/.test(document.activeElement?.textContent ?? '')",
    );
    expect(await focusVisible()).toBe(true);

    // Results: a group's Retry is reachable from the keyboard.
    await tabUntil(kb, "document.activeElement?.getAttribute('role') === 'tab'", true);
    await kb.keyboard.press('End');
    await kb.keyboard.press('ArrowUp');
    await kb.keyboard.press('ArrowUp');
    await kb.keyboard.press('Enter');
    await kb.getByRole('heading', { name: 'Results', level: 1 }).waitFor();
    await tabUntil(kb, "/^Retry/.test(document.activeElement?.textContent?.trim() ?? '')");
    expect(await focusVisible()).toBe(true);
    expect(await focusedRole()).toBe('BUTTON');
    await shot(kb, 'e2e-17-keyboard-results');
    expect(kbProblems).toEqual([]);
    await kb.close();
  }, 90_000);

  it('axe-core finds no serious or critical problem on any screen', async () => {
    const found: Record<string, AxeViolation[]> = {};
    for (const s of ['Devices', 'Profiles', 'Pre-flight', 'Run', 'Results', 'History', 'Settings']) {
      await go(page, s);
      await page.waitForTimeout(600);
      const v = await axe(page);
      if (v.length) found[s] = v;
    }
    await go(page, 'Devices');
    await page
      .getByRole('button', { name: /^Details of / })
      .first()
      .click();
    await page.getByRole('dialog').waitFor();
    const dialog = await axe(page);
    if (dialog.length) found['device dialog'] = dialog;
    await page.keyboard.press('Escape');
    expect(found).toEqual({});
  }, 90_000);

  it('no CSP violation, page error or console error along the way', () => {
    expect(problems).toEqual([]);
  });
});

describe.skipIf(!hasChromium)('station UI with 500 devices on the bench (lab)', () => {
  let uiDir: string;
  let station: LabStation;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    uiDir = await buildStationUi();
    station = await startLabStation({
      devices: 500,
      rendererDir: uiDir,
      port: 0,
      timeScale: 0.25,
      ready: true,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  }, 240_000);

  afterAll(async () => {
    await browser.close().catch(() => undefined);
    await station.close().catch(() => undefined);
    if (uiDir) await rm(uiDir, { recursive: true, force: true });
  }, 120_000);

  it('keeps a bounded number of rows in the DOM and filters at once', async () => {
    await page.goto(station.url);
    await expect
      .poll(async () => Number(await page.locator('.nav-count').first().textContent()), {
        timeout: 120_000,
        interval: 1000,
      })
      .toBe(500);
    const rows = await page.locator('[role=grid] [role=row]').count();
    expect(rows).toBeLessThan(80);
    await shot(page, 'e2e-18-500-devices');
    // Selecting all 500 and scrolling to the end stays bounded too.
    await page.locator('[role=grid] [role=row]').nth(1).click();
    await page.keyboard.press('ControlOrMeta+a');
    await expect.poll(() => page.locator('.selection-bar').textContent()).toContain('500 selected');
    await page.evaluate("document.querySelector('.table').scrollTop = 1e9");
    await page.getByRole('rowheader').last().waitFor();
    expect(await page.locator('[role=grid] [role=row]').count()).toBeLessThan(80);
    const snapshot = snapshotSchema.parse(await station.service.call('getSnapshot', {}));
    const matching = snapshot.devices.filter((d) => d.name?.toLowerCase().includes('unit-49')).length;
    expect(matching).toBeGreaterThan(1);
    const search = page.getByRole('searchbox', { name: 'Filter devices' });
    const t0 = Date.now();
    await search.fill('unit-49');
    await expect.poll(() => page.locator('[role=grid] [role=row]').count()).toBe(matching + 1); // and the header
    const ms = Date.now() - t0;
    console.log(`filter of 500 devices shown in ${ms} ms`);
    expect(ms).toBeLessThan(5000); // generous: a responsiveness guard, not a benchmark
    await shot(page, 'e2e-19-500-filtered');
  }, 180_000);
});
