/**
 * The captive portal page (users.md item 3): pick a network, type its password and the setup code
 * from the label; the page runs the SPAKE2+ session in the browser (shared/session/client.ts),
 * sends `wifi.set` with `commit: "auto"` (a phone cannot confirm from the target network), follows
 * `/v1/status` and shows where the device went, or why it could not join. A radio without AP+STA
 * takes the setup network away while it tries: the page then shows the device's `.local` name, the
 * address it had on that network before (`wifi.set`'s `reach`), and a link, and polls them until
 * the phone is back on that network and the device answers there (`no-cors`: any answer counts).
 *
 * Enterprise networks (802.1X, a scan's `enterprise`) take a user name and password with PEAP or
 * TTLS, the site's CA certificate from a file (PEM or DER), an optional server name; without a CA
 * the technician must tick that the server goes unchecked (`insecureNoCaValidation`). Any network
 * may get a static IPv4 address. The network is judged by the shared schema before it is sent.
 *
 * Browser code: imports shared/ only; no framework, no external requests; built to es2019.
 */
import { deriveProverSecretsAsync } from '../../../shared/crypto/airlift';
import { toBase64 } from '../../../shared/encoding';
import { AirliftError } from '../../../shared/errors';
import { networkInputSchema } from '../../../shared/protocol/network-input';
import { normaliseSetupSecret } from '../../../shared/identity';
import { openSession, type FetchLike } from '../../../shared/session/client';

interface Info {
  id: string;
  name: string;
  hostname: string;
  state: string;
  setupSsid: string;
  capabilities: { concurrentApSta: boolean; security?: string[] };
}

interface ScanEntry {
  ssid: string;
  ssidHex: string;
  signal: number;
  security: string;
  known: boolean;
}

interface Attempt {
  id: string;
  result: 'ok' | 'failed' | 'pending';
  reason?: string;
  ip?: string;
  addressing?: 'dhcp' | 'static';
}

interface Status {
  state: string;
  ip?: string;
  hostname: string;
  setupAp: { up: boolean; ssid: string };
  lastAttempt?: Attempt;
}

/** `wifi.set`'s `reach` (absent from older agents). */
interface Reach {
  host: string;
  port: number;
  ipHint?: string | undefined;
  ipStatic?: boolean | undefined;
  urls: string[];
}

interface Target {
  label: string;
  network: Record<string, unknown>;
  needsPassword: boolean;
  /** 802.1X: a user name and password with PEAP or TTLS instead of a network password. */
  enterprise: boolean;
}

const REQUEST_TIMEOUT_MS = 8000;
const POLL_MS = 1000;
/** How long the page waits for the device to come back before saying it most likely joined. */
const GONE_AFTER_MS = 120_000;
/** Without an answer on the setup network for this long, the page shows where to look instead. */
const REACH_AFTER_MS = 6_000;
/** How often the device's LAN addresses are tried once shown. */
const REACH_POLL_MS = 3_000;

const REASONS: Record<string, string> = {
  auth_failed:
    'The password was not accepted by the network (on an enterprise network: the user name or password).',
  eap_failed:
    'The network refused the sign-in method: try the other method (PEAP or TTLS), or ask the site which one it uses.',
  cert_rejected:
    "The network's server did not match the CA certificate or server name given. Check them with the site (and the device's clock).",
  ssid_not_found: 'The device could not find this network. Is it in range?',
  assoc_rejected: 'The access point refused the device.',
  dhcp_timeout: 'The device joined but got no IP address from the network (DHCP).',
  no_internet: 'The device joined but the network has no internet access.',
  timeout: 'Joining the network took too long.',
  hardware: "The device's Wi-Fi hardware reported an error.",
  not_confirmed: 'The change was not confirmed in time and was undone.',
  interrupted: 'The device restarted while joining; the change was undone.',
};

const SECURITY: Record<string, string | undefined> = {
  open: 'open',
  'wpa2-psk': 'wpa2-psk',
  'wpa2-wpa3': 'wpa2-psk',
  'wpa3-sae': 'wpa3-sae',
  // A scan cannot tell WPA2- from WPA3-Enterprise; WPA2's configuration joins both but WPA3-only.
  enterprise: 'wpa2-enterprise',
};

/** The security a scan entry is joined with here, if this device can do it. */
function securityFor(scanned: string): string | undefined {
  const security = SECURITY[scanned];
  const offered = info?.capabilities.security;
  return security === undefined || (offered !== undefined && !offered.includes(security))
    ? undefined
    : security;
}

// ---- DOM helpers --------------------------------------------------------------------------------

function el(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found;
}

function input(id: string): HTMLInputElement {
  return el(id) as HTMLInputElement;
}

function button(id: string): HTMLButtonElement {
  return el(id) as HTMLButtonElement;
}

function text(id: string, value: string): void {
  el(id).textContent = value;
}

const SECTIONS = ['pick', 'creds', 'progress', 'done', 'gone', 'failed'] as const;
type Section = (typeof SECTIONS)[number];

function show(section: Section): void {
  for (const s of SECTIONS) el(s).hidden = s !== section;
  window.scrollTo(0, 0);
}

function fatal(message: string): void {
  const p = el('fatal');
  p.textContent = message;
  p.hidden = false;
}

function formError(message: string | undefined): void {
  const p = el('form-error');
  p.textContent = message ?? '';
  p.hidden = message === undefined;
}

// ---- HTTP ---------------------------------------------------------------------------------------

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new AirliftError('TIMEOUT', 'The device did not answer')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

async function getJson<T>(path: string, ms = REQUEST_TIMEOUT_MS): Promise<T> {
  const res = await withTimeout(
    fetch(path, { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } }),
    ms,
  );
  if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`);
  return (await res.json()) as T;
}

const sessionFetch: FetchLike = (url, init) =>
  withTimeout(
    fetch(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      cache: 'no-store',
      credentials: 'same-origin',
    }),
    30_000,
  );

// ---- signal bars --------------------------------------------------------------------------------

/** dBm → 0..4 bars. */
export function bars(signal: number): number {
  if (signal >= -55) return 4;
  if (signal >= -65) return 3;
  if (signal >= -75) return 2;
  if (signal >= -85) return 1;
  return 0;
}

function barsElement(signal: number): HTMLElement {
  const span = document.createElement('span');
  span.className = 'bars';
  span.title = `${signal} dBm`;
  const n = bars(signal);
  for (let i = 1; i <= 4; i++) {
    const b = document.createElement('i');
    b.className = `b${i}${i <= n ? ' on' : ''}`;
    span.appendChild(b);
  }
  return span;
}

// ---- state --------------------------------------------------------------------------------------

let info: Info | undefined;
let target: Target | undefined;
let busy = false;

function unique(networks: ScanEntry[]): ScanEntry[] {
  const best = new Map<string, ScanEntry>();
  for (const n of networks) {
    const seen = best.get(n.ssidHex);
    if (!seen || n.signal > seen.signal) best.set(n.ssidHex, n);
  }
  return [...best.values()].sort((a, b) => b.signal - a.signal);
}

function renderNetworks(networks: ScanEntry[]): void {
  const list = el('networks');
  while (list.firstChild) list.removeChild(list.firstChild);
  const entries = unique(networks).filter((n) => n.ssidHex !== '');
  text('scan-note', entries.length === 0 ? 'No networks found. Rescan, or enter one by hand.' : '');
  for (const n of entries) {
    const security = securityFor(n.security);
    const li = document.createElement('li');
    const item = document.createElement('button');
    item.type = 'button';
    item.className = 'net';
    item.setAttribute('data-ssid-hex', n.ssidHex);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = n.ssid;
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent =
      security === undefined
        ? `${n.security}: not supported`
        : `${n.known ? 'saved · ' : ''}${security === 'open' ? 'open' : security === 'wpa2-enterprise' ? 'enterprise' : 'secured'}`;
    item.appendChild(name);
    item.appendChild(tag);
    item.appendChild(barsElement(n.signal));
    if (security === undefined) item.disabled = true;
    else
      item.addEventListener('click', () => {
        const network: Record<string, unknown> = { ssidHex: n.ssidHex, security };
        const enterprise = security === 'wpa2-enterprise';
        choose({ label: n.ssid, network, needsPassword: security !== 'open', enterprise });
      });
    li.appendChild(item);
    list.appendChild(li);
  }
}

async function scan(force: boolean): Promise<void> {
  const rescan = button('rescan');
  rescan.disabled = true;
  text('scan-note', 'Scanning…');
  try {
    const body = await getJson<{ networks: ScanEntry[] }>(`/v1/networks${force ? '?force=1' : ''}`, 30_000);
    renderNetworks(body.networks);
  } catch (err) {
    text('scan-note', `Could not list networks: ${describe(err)}`);
  } finally {
    rescan.disabled = false;
  }
}

function choose(t: Target | undefined): void {
  target = t;
  el('ssid-box').hidden = t !== undefined;
  (el('kind') as HTMLSelectElement).value = 'personal';
  input('password').value = '';
  for (const id of ['identity', 'anonymous', 'domain', 'ca-file', 'ipv4', 'gateway', 'dns'])
    input(id).value = '';
  input('insecure').checked = false;
  el('insecure-warn').hidden = true;
  showEnterprise(t?.enterprise ?? false, t === undefined || t.needsPassword);
  text('creds-title', t ? t.label : 'Other network');
  formError(undefined);
  show('creds');
  (t ? (t.enterprise ? el('identity') : t.needsPassword ? el('password') : el('code')) : el('ssid')).focus();
}

/** The Enterprise fields, and the password box under the right name. */
function showEnterprise(enterprise: boolean, password: boolean): void {
  el('eap-box').hidden = !enterprise;
  el('eap-server-box').hidden = !enterprise;
  el('password-box').hidden = !password;
  text('password-label', enterprise ? 'Password' : 'Wi-Fi password');
}

/** The chosen CA certificate file as PEM text: PEM as it is, DER (.cer, .crt) armoured. */
async function caPem(): Promise<string | undefined> {
  const file = input('ca-file').files?.[0];
  if (file === undefined) return undefined;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const head = new TextDecoder().decode(bytes.subarray(0, 64));
  if (head.includes('-----BEGIN')) return new TextDecoder().decode(bytes);
  const body = toBase64(bytes).replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** The `eap` block from the form, or a message. */
async function eapFromForm(password: string): Promise<Record<string, unknown> | string> {
  const identity = input('identity').value;
  if (identity === '') return 'Enter the user name.';
  if (password === '') return 'Enter the password.';
  const [method, phase2] = (el('eap-method') as HTMLSelectElement).value.split('-');
  const ca = await caPem();
  const insecure = input('insecure').checked;
  if (ca === undefined && !insecure)
    return "Choose the network's CA certificate, or tick that the server goes unchecked.";
  const anonymous = input('anonymous').value;
  const domain = input('domain').value;
  return {
    method,
    ...(phase2 !== undefined ? { phase2 } : {}),
    identity,
    password,
    ...(anonymous !== '' ? { anonymousIdentity: anonymous } : {}),
    ...(insecure ? { insecureNoCaValidation: true } : { caCert: ca }),
    ...(domain !== '' && !insecure ? { domainMatch: domain } : {}),
  };
}

/** The static IPv4 block from the form: absent when no address is typed. */
function ipv4FromForm(): Record<string, unknown> | undefined {
  const address = input('ipv4').value.trim();
  if (address === '') return undefined;
  const gateway = input('gateway').value.trim();
  const dns = input('dns')
    .value.split(/[\s,]+/)
    .filter((d) => d !== '');
  return { address, ...(gateway !== '' ? { gateway } : {}), dns };
}

function describe(err: unknown): string {
  if (err instanceof AirliftError) {
    switch (err.code) {
      case 'AUTH_FAILED':
        return 'The setup code is wrong. Check it against the label on the device.';
      case 'RATE_LIMITED': {
        const ms = err.details?.['retryAfterMs'];
        const s = typeof ms === 'number' ? Math.ceil(ms / 1000) : undefined;
        return `Too many wrong setup codes. Wait${s === undefined ? ' a while' : ` ${s} s`} and try again.`;
      }
      case 'SETUP_CLOSED':
        return 'Too many wrong setup codes: the device has closed setup. Restart it to try again.';
      case 'LOCKED_OUT':
        return 'The device is locked after too many wrong setup codes; it must be reset locally.';
      case 'BUSY':
        return 'Someone else is setting up this device right now. Try again in a minute.';
      case 'UNREACHABLE':
      case 'TIMEOUT':
        return 'Lost contact with the device. Check that this phone is still on its setup network.';
      default:
        return err.message;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/** The network as typed, before the shared schema judges it. */
async function rawNetworkFromForm(): Promise<{ network: Record<string, unknown>; label: string } | string> {
  const password = input('password').value;
  const enterprise = target ? target.enterprise : (el('kind') as HTMLSelectElement).value === 'enterprise';
  const ipv4 = ipv4FromForm();
  const withIpv4 = (network: Record<string, unknown>) => (ipv4 ? { ...network, ipv4 } : network);
  let network: Record<string, unknown>;
  let label: string;
  if (target) {
    network = { ...target.network };
    label = target.label;
  } else {
    const ssid = input('ssid').value;
    if (ssid === '') return 'Enter the network name.';
    if (new TextEncoder().encode(ssid).length > 32) return 'A network name is at most 32 bytes.';
    const security = enterprise ? 'wpa2-enterprise' : password === '' ? 'open' : 'wpa2-psk';
    network = { ssid, security, hidden: true };
    label = ssid;
  }
  if (enterprise) {
    const eap = await eapFromForm(password);
    if (typeof eap === 'string') return eap;
    return { network: withIpv4({ ...network, eap }), label };
  }
  if (target?.needsPassword === true && password === '') return 'Enter the Wi-Fi password.';
  if (password !== '') network['passphrase'] = password;
  return { network: withIpv4(network), label };
}

/** The network object `wifi.set` gets, judged here as the device will (its words), or a message. */
async function networkFromForm(): Promise<{ network: Record<string, unknown>; label: string } | string> {
  const chosen = await rawNetworkFromForm();
  if (typeof chosen === 'string') return chosen;
  const judged = networkInputSchema.safeParse(chosen.network);
  if (judged.success) return chosen;
  const issue = judged.error.issues[0];
  return issue?.message ?? 'These settings cannot be used.';
}

async function submit(): Promise<void> {
  if (busy || !info) return;
  formError(undefined);
  const chosen = await networkFromForm();
  if (typeof chosen === 'string') {
    formError(chosen);
    return;
  }
  let secret: string;
  try {
    secret = normaliseSetupSecret(input('code').value);
  } catch (err) {
    formError(describe(err));
    return;
  }
  const { deviceId, hostname } = { deviceId: info.id, hostname: info.hostname };
  busy = true;
  button('submit').disabled = true;
  show('progress');
  text('progress-title', 'Checking the setup code…');
  text('progress-text', 'Opening a secure session with the device.');
  let attemptId: string;
  let apStaysUp: boolean;
  let reach: Reach | undefined;
  try {
    const session = await openSession({
      baseUrl: `${location.protocol}//${location.host}`,
      deviceId,
      deriveSecrets: (salt, iter) => deriveProverSecretsAsync(secret, deviceId, salt, iter),
      fetch: sessionFetch,
    });
    text('progress-title', `Sending ${chosen.label}…`);
    const result = await session.call('wifi.set', {
      networks: [chosen.network],
      mode: 'replace',
      commit: 'auto',
    });
    attemptId = result.attemptId;
    apStaysUp = result.apStaysUp;
    reach = result.reach;
  } catch (err) {
    busy = false;
    button('submit').disabled = false;
    show('creds');
    formError(describe(err));
    return;
  }
  await follow(attemptId, apStaysUp, chosen.label, hostname, reach);
  busy = false;
  button('submit').disabled = false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether something answers at `url` (an opaque `no-cors` answer is enough: the device is there). */
async function answers(url: string): Promise<boolean> {
  try {
    await withTimeout(fetch(url, { mode: 'no-cors', cache: 'no-store', credentials: 'omit' }), 2500);
    return true;
  } catch {
    return false;
  }
}

/**
 * The setup network is gone: show where the device will be, and look for it there until it
 * answers (the phone back on its own network) or `stop()` (the setup network came back).
 */
function showReach(reach: Reach, label: string): { stop(): void; found: Promise<string> } {
  const first = reach.urls[0];
  text(
    'gone-text',
    `The device is joining ${label}. If it cannot, its setup network comes back and this page shows why.`,
  );
  text('reach-ssid', label);
  const link = el('reach-link') as HTMLAnchorElement;
  link.textContent = reach.host;
  if (first !== undefined) link.href = first;
  el('reach-ip').hidden = reach.ipHint === undefined;
  if (reach.ipHint !== undefined) text('reach-ip-text', reach.ipHint);
  el('reach').hidden = false;
  show('gone');
  const looking = { stopped: false };
  const found = (async (): Promise<string> => {
    for (;;) {
      for (const url of reach.urls) {
        if (looking.stopped) return new Promise<string>(() => undefined);
        if (await answers(url)) return url;
      }
      await sleep(REACH_POLL_MS);
    }
  })();
  return {
    stop: () => {
      looking.stopped = true;
    },
    found,
  };
}

/** Follows the attempt through /v1/status until it ends, or the device is gone for good. */
async function follow(
  attemptId: string,
  apStaysUp: boolean,
  label: string,
  hostname: string,
  reach?: Reach,
): Promise<void> {
  text('progress-title', `The device is joining ${label}…`);
  text(
    'progress-text',
    apStaysUp
      ? 'This takes up to a minute. Keep this page open.'
      : 'The setup network goes away while the device tries. Keep this page open: if it cannot join, ' +
          'it brings the setup network back and this page shows why.',
  );
  let lostSince: number | undefined;
  let looking: ReturnType<typeof showReach> | undefined;
  let foundAt: string | undefined;
  for (;;) {
    await sleep(POLL_MS);
    if (foundAt !== undefined) {
      text('reach-state', 'Found it: the device answers on your network. Tap the name above to open it.');
      el('reach-link').setAttribute('href', foundAt);
      return;
    }
    let status: Status;
    try {
      status = await getJson<Status>('/v1/status', 4000);
    } catch {
      lostSince ??= Date.now();
      if (reach && !apStaysUp && !looking && Date.now() - lostSince > REACH_AFTER_MS) {
        looking = showReach(reach, label);
        void looking.found.then((url) => {
          foundAt = url;
        });
      }
      if (looking) continue;
      if (Date.now() - lostSince > GONE_AFTER_MS) {
        text(
          'gone-text',
          `It did not come back, so it has most likely joined ${label}. Reconnect this phone to ` +
            `${label} and look for ${hostname}.local (or the device's address in your router's list). ` +
            'If it had failed, its setup network would be back.',
        );
        show('gone');
        return;
      }
      continue;
    }
    lostSince = undefined;
    if (looking) {
      // The setup network is back: the device failed, or the station found it. Follow it there.
      looking.stop();
      looking = undefined;
      show('progress');
    }
    const attempt = status.lastAttempt;
    if (attempt?.id === attemptId && attempt.result === 'ok') {
      text('done-ssid', label);
      text('done-ip', attempt.ip ?? status.ip ?? 'unknown');
      el('done-static').hidden = attempt.addressing !== 'static';
      text('done-host', `${status.hostname}.local`);
      show('done');
      return;
    }
    if (attempt?.id === attemptId && attempt.result === 'failed') {
      const reason = attempt.reason ?? 'unknown';
      text('failed-text', REASONS[reason] ?? 'The device could not join the network.');
      text('failed-reason', reason);
      show('failed');
      return;
    }
    if (status.state === 'failsafe' || status.state === 'online')
      text('progress-text', 'Joined; waiting for an address…');
  }
}

// ---- start --------------------------------------------------------------------------------------

async function start(): Promise<void> {
  if (typeof BigInt === 'undefined' || typeof Uint8Array === 'undefined') {
    fatal('This browser is too old for secure setup. Use a newer phone or the Airlift station.');
    return;
  }
  try {
    info = await getJson<Info>('/v1/info');
  } catch (err) {
    fatal(`Cannot reach the device: ${describe(err)}`);
    return;
  }
  text('title', `Set up ${info.name}`);
  text('device', `Device ${info.id} · ${info.hostname}`);
  el('rescan').addEventListener('click', () => void scan(true));
  el('other').addEventListener('click', () => choose(undefined));
  el('back').addEventListener('click', () => show('pick'));
  el('retry').addEventListener('click', () => show('creds'));
  el('kind').addEventListener('change', () => {
    showEnterprise((el('kind') as HTMLSelectElement).value === 'enterprise', true);
  });
  input('insecure').addEventListener('change', () => {
    el('insecure-warn').hidden = !input('insecure').checked;
  });
  input('show').addEventListener('change', (e) => {
    input('password').type = (e.target as HTMLInputElement).checked ? 'text' : 'password';
  });
  el('form').addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });
  show('pick');
  await scan(false);
}

void start();
