/**
 * `airlift provision` on site networks, in process against the virtual fleet: WPA2/WPA3-Enterprise
 * flags (secrets from files or stdin only, judged by the shared schemas with their codes), static
 * IPv4 (one address per device), and the redaction check over everything the station writes in a
 * job — journal, report JSON and CSV, the table and the progress on stdout and stderr: no password,
 * client key, key passphrase, setup secret or identity in any of it, and the report saying how the
 * server was checked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, EXIT, type CliIo, type StationEnv } from '../../../main/cli/airlift';
import { ssidHexOf, type AccessPointInit } from '../../../lab/airspace';
import type { ServiceBrowser } from '../../../main/ports/discovery';
import type { WifiAdapter, WifiAdapterProvider } from '../../../main/ports/wifi-adapter';
import { startFleet, type Fleet, type FleetOptions } from '../../../lab/fleet';
import { KEY_PASSPHRASE, PKI } from '../../fixtures/pki/pki';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PASSWORD = 'Ent3rprise "pw" \\ }';
const IDENTITY = 'jane.doe@hospital.example';
const ANONYMOUS = 'anonymous@hospital.example';

const silentBrowser: ServiceBrowser = {
  start: () => Promise.resolve(),
  subscribe: () => () => undefined,
  services: () => [],
  refresh: () => undefined,
  stop: () => Promise.resolve(),
};

interface Rig {
  fleet: Fleet;
  dir: string;
  file(name: string, text: string): Promise<string>;
  /** The station hears no mDNS from here on (client isolation on the target network). */
  silenceMdns(): void;
  /** The station's adapters say they cannot join Enterprise networks (decision 0012). */
  withoutEnterprise(): void;
  run(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }>;
}

async function rig(o: FleetOptions, manifestExtra?: (i: number) => string): Promise<Rig> {
  const fleet = await startFleet({ timeScale: 0.02, ...o });
  cleanups.push(() => fleet.close());
  const dir = await mkdtemp(join(tmpdir(), 'airlift-cli-ent-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const extra = manifestExtra !== undefined;
  const csv = [
    `deviceId,setupSecret,salt,iter${extra ? ',ipv4' : ''}`,
    ...fleet.manifest.map(
      (m, i) => `${m.deviceId},${m.setupSecret},${m.salt},${m.iter}${extra ? `,${manifestExtra(i)}` : ''}`,
    ),
  ];
  await writeFile(join(dir, 'manifest.csv'), `${csv.join('\n')}\n`);
  let silent = false;
  let noEnterprise = false;
  const provider: WifiAdapterProvider = {
    list: async () =>
      (await fleet.provider.list()).map((a) =>
        noEnterprise
          ? Object.assign(Object.create(a) as WifiAdapter, {
              enterprise: { join: false, why: 'no 802.1X here' },
            })
          : a,
      ),
  };
  const env = (): StationEnv => ({
    adapters: provider,
    browser: () => (silent ? silentBrowser : fleet.browser()),
    transport: fleet.transport,
  });
  return {
    fleet,
    dir,
    silenceMdns: () => void (silent = true),
    withoutEnterprise: () => void (noEnterprise = true),
    async file(name, text) {
      const path = join(dir, name);
      await writeFile(path, text, { mode: 0o600 });
      return path;
    },
    async run(args, stdin = '') {
      let out = '';
      let err = '';
      const io: CliIo = {
        stdout: { write: (s) => void (out += s), isTTY: false },
        stderr: { write: (s) => void (err += s) },
        readStdin: () => Promise.resolve(stdin),
      };
      const code = await main(['--jobs-dir', join(dir, 'jobs'), ...args], io, env);
      return { code, out, err };
    },
  };
}

const base = (r: Rig) => ['provision', '--ssid', 'Hospital-Staff', '--manifest', join(r.dir, 'manifest.csv')];

async function peapArgs(r: Rig, o: { ca?: string } = {}): Promise<string[]> {
  return [
    ...base(r),
    '--security',
    'wpa2-enterprise',
    '--eap-method',
    'peap',
    '--identity',
    IDENTITY,
    '--anonymous-identity',
    ANONYMOUS,
    '--eap-password-file',
    await r.file('eap-pass.txt', `${PASSWORD}\n`),
    '--ca-cert',
    await r.file('ca.pem', o.ca ?? PKI.caWithText),
    '--domain-match',
    'radius.hospital.example',
  ];
}

describe('airlift provision: Enterprise and static IPv4 flags', () => {
  it('takes every secret from a file or stdin, and the dry run names method and server check', async () => {
    const r = await rig({ devices: 1, adapters: 1 });
    const p = await r.run([...(await peapArgs(r)), '--dry-run']);
    expect(p.code, p.err).toBe(EXIT.OK);
    expect(p.out).toContain('wpa2-enterprise');
    expect(p.out + p.err).not.toContain(PASSWORD);

    const viaStdin = (await peapArgs(r)).map((a) => (a.endsWith('eap-pass.txt') ? '-' : a));
    expect((await r.run([...viaStdin, '--dry-run'], `${PASSWORD}\n`)).code).toBe(EXIT.OK);
    // Standard input can be read once.
    const both = await r.run(
      [
        ...base(r),
        '--security',
        'wpa2-enterprise',
        '--eap-method',
        'tls',
        '--identity',
        'device-1',
        '--eap-password-file',
        '-',
        '--client-key-passphrase-file',
        '-',
        '--dry-run',
      ],
      'x',
    );
    expect(both.code).toBe(EXIT.USAGE);
    expect(both.err).toContain('both read standard input');
  });

  it('refuses with the shared schemas’ codes: no CA, a bad CA, a key without its passphrase, stray flags', async () => {
    const r = await rig({ devices: 1, adapters: 1 });
    const noCa = (await peapArgs(r)).filter((a, i, all) => a !== '--ca-cert' && all[i - 1] !== '--ca-cert');
    const withoutDomain = noCa.filter(
      (a, i, all) => a !== '--domain-match' && all[i - 1] !== '--domain-match',
    );
    const e1 = await r.run([...withoutDomain, '--dry-run']);
    expect(e1.code).toBe(EXIT.USAGE);
    expect(e1.err).toMatch(/error INVALID_EAP: .*caCert is required/);

    const e2 = await r.run([...(await peapArgs(r, { ca: 'not a certificate\n' })), '--dry-run']);
    expect(e2.err).toMatch(/error INVALID_CERTIFICATE/);

    const tls = [
      ...base(r),
      '--security',
      'wpa3-enterprise',
      '--eap-method',
      'tls',
      '--identity',
      'device-1',
      '--client-cert',
      await r.file('client.pem', PKI.client),
      '--client-key-file',
      await r.file('client.key', PKI.clientKeyEncrypted),
      '--ca-cert',
      await r.file('ca.pem', PKI.ca),
      '--dry-run',
    ];
    const e3 = await r.run(tls);
    expect(e3.err).toMatch(/error INVALID_PASSPHRASE: .*clientKeyPassphrase/);
    expect(e3.err + e3.out).not.toContain('PRIVATE KEY');
    const ok = await r.run([
      ...tls,
      '--client-key-passphrase-file',
      await r.file('key-pass.txt', KEY_PASSPHRASE),
    ]);
    expect(ok.code, ok.err).toBe(EXIT.OK);

    const e4 = await r.run([
      ...base(r),
      '--passphrase-file',
      await r.file('p', 'passphrase1'),
      '--identity',
      'x',
      '--dry-run',
    ]);
    expect(e4.err).toMatch(/error INVALID_EAP: --identity is for --security wpa2-enterprise/);
  });

  it('static IPv4: judged (gateway on-link), one address for one device, a manifest column for a fleet', async () => {
    const one = await rig({ devices: 1, adapters: 1 });
    const pass = await one.file('pass.txt', 'correct horse');
    const psk = [...base(one), '--passphrase-file', pass];
    const bad = await one.run([
      ...psk,
      '--ipv4',
      '192.168.60.20/24',
      '--gateway',
      '192.168.61.1',
      '--dry-run',
    ]);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.err).toMatch(/error INVALID_IPV4/);
    const good = await one.run([
      ...psk,
      '--ipv4',
      '192.168.60.20/24',
      '--gateway',
      '192.168.60.1',
      '--dns',
      '192.168.60.1,9.9.9.9',
      '--dry-run',
    ]);
    expect(good.code, good.err).toBe(EXIT.OK);

    const two = await rig({ devices: 2, adapters: 1 });
    const twoPass = await two.file('pass.txt', 'correct horse');
    const shared = await two.run([
      ...base(two),
      '--passphrase-file',
      twoPass,
      '--ipv4',
      '192.168.60.20/24',
      '--dry-run',
    ]);
    expect(shared.err).toMatch(/error INVALID_IPV4: --ipv4 gives all 2 devices the same address/);

    const same = await rig({ devices: 2, adapters: 1 }, () => '192.168.60.20/24');
    const samePass = await same.file('pass.txt', 'correct horse');
    const dup = await same.run([
      ...base(same),
      '--passphrase-file',
      samePass,
      '--gateway',
      '192.168.60.1',
      '--dry-run',
    ]);
    expect(dup.err).toMatch(/error INVALID_IPV4: .* have the same address 192\.168\.60\.20/);

    const own = await rig({ devices: 2, adapters: 1 }, (i) => `192.168.60.${20 + i}/24`);
    const ownPass = await own.file('pass.txt', 'correct horse');
    const fine = await own.run([
      ...base(own),
      '--passphrase-file',
      ownPass,
      '--gateway',
      '192.168.60.1',
      '--dry-run',
    ]);
    expect(fine.code, fine.err).toBe(EXIT.OK);
  });
});

/** Every file under `dir`, as text. */
async function allText(dir: string): Promise<string> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(
    names.filter((d) => d.isFile()).map((d) => readFile(join(d.parentPath, d.name), 'utf8')),
  );
  return texts.join('\n');
}

describe('redaction: nothing the station writes in an Enterprise job holds a secret or the identity', () => {
  it('journal, report JSON and CSV, table, progress on stdout and stderr (PEAP, then TLS)', async () => {
    const r = await rig({ devices: 2, adapters: 1 });
    const peap = await r.run([...(await peapArgs(r)), '--verify-timeout', '5']);
    const jobs = join(r.dir, 'jobs');
    const id = /Job (\d{8}-\d{6}-[0-9a-f]{4})/.exec(peap.out)?.[1] ?? '';
    expect(id, peap.out + peap.err).not.toBe('');
    const json = await r.run(['report', id, '--json']);
    const csv = await r.run(['report', id, '--csv']);
    const report = JSON.parse(json.out) as { job: { target: Record<string, unknown> } };
    expect(report.job.target).toMatchObject({
      security: 'wpa2-enterprise',
      eap: {
        method: 'peap',
        phase2: 'mschapv2',
        serverValidation: 'ca-and-domain',
        domainMatch: 'radius.hospital.example',
      },
    });

    const tls = await r.run(
      [
        ...base(r),
        '--security',
        'wpa3-enterprise',
        '--eap-method',
        'tls',
        '--identity',
        IDENTITY,
        '--client-cert',
        await r.file('client.pem', PKI.client),
        '--client-key-file',
        await r.file('client.key', PKI.clientKeyEncrypted),
        '--client-key-passphrase-file',
        '-',
        '--insecure-no-ca-validation',
        '--verify-timeout',
        '5',
      ],
      KEY_PASSPHRASE,
    );
    const tlsId = /Job (\d{8}-\d{6}-[0-9a-f]{4})/.exec(tls.out)?.[1] ?? '';
    const tlsJson = await r.run(['report', tlsId, '--json']);
    expect((JSON.parse(tlsJson.out) as typeof report).job.target).toMatchObject({
      eap: { method: 'tls', serverValidation: 'none' },
    });
    expect(tls.out).toContain('server NOT validated');

    const written = [
      await allText(jobs),
      peap.out,
      peap.err,
      json.out,
      csv.out,
      tls.out,
      tls.err,
      tlsJson.out,
    ].join('\n');
    const keyBody = PKI.clientKeyEncrypted.split('\n')[1] ?? '';
    for (const secret of [PASSWORD, KEY_PASSPHRASE, keyBody, IDENTITY, ANONYMOUS, 'PRIVATE KEY'])
      expect(written, secret).not.toContain(secret);
    for (const m of r.fleet.manifest) expect(written).not.toContain(m.setupSecret);
  });
});

const HOSPITAL_AP: AccessPointInit = {
  ssidHex: ssidHexOf('Hospital-Staff'),
  bssid: '02:00:00:00:01:07',
  security: 'enterprise',
  enterprise: {
    methods: ['peap', 'ttls', 'tls'],
    users: [{ identity: IDENTITY, password: PASSWORD }],
    serverCert: PKI.server,
    clientCas: [PKI.ca],
  },
  frequency: 2462,
  signal: -50,
  subnet: '192.168.100.0/24',
  internet: true,
};

/** The report's devices after a provision run. */
async function reportOf(
  r: Rig,
  p: { out: string },
): Promise<{ id: string; result: string; reason?: string; ip?: string; detail?: string }[]> {
  const id = /Job (\d{8}-\d{6}-[0-9a-f]{4})/.exec(p.out)?.[1] ?? '';
  const json = await r.run(['report', id, '--json']);
  return (JSON.parse(json.out) as { devices: { id: string; result: string; reason?: string; ip?: string }[] })
    .devices;
}

describe('airlift provision against the lab’s Enterprise AP (its RADIUS server checks methods, accounts, certificates)', () => {
  it('right credentials: every device verified on the Enterprise network, the station joined it too', async () => {
    const r = await rig({ devices: 2, adapters: 1 });
    r.fleet.airspace.addAp(HOSPITAL_AP);
    const p = await r.run([
      ...(await peapArgs(r, { ca: PKI.ca })).map((a) =>
        a === 'radius.hospital.example' ? 'lab.example' : a,
      ),
      '--verify-timeout',
      '10',
    ]);
    expect(p.code, p.out + p.err).toBe(EXIT.OK);
    expect(p.err).not.toContain('cannot join');
    for (const d of await reportOf(r, p)) {
      expect(d.result).toBe('verified');
      expect(d.ip).toMatch(/^192\.168\.100\./);
    }
  });

  it('a wrong identity fails as auth_failed; a CA that did not sign the server fails as cert_rejected', async () => {
    const r = await rig({ devices: 1, adapters: 1 });
    r.fleet.airspace.addAp(HOSPITAL_AP);
    const wrong = (await peapArgs(r, { ca: PKI.ca }))
      .map((a) => (a === IDENTITY ? 'someone.else@hospital.example' : a))
      .filter((a, i, all) => a !== '--domain-match' && all[i - 1] !== '--domain-match');
    const p1 = await r.run([...wrong, '--verify-timeout', '5']);
    expect(p1.code).toBe(EXIT.FAILED);
    expect((await reportOf(r, p1))[0]).toMatchObject({ result: 'failed', reason: 'auth_failed' });

    const rogue = (await peapArgs(r, { ca: PKI.rogueCa })).filter(
      (a, i, all) => a !== '--domain-match' && all[i - 1] !== '--domain-match',
    );
    const p2 = await r.run([...rogue, '--verify-timeout', '5']);
    expect(p2.code).toBe(EXIT.FAILED);
    expect((await reportOf(r, p2))[0]).toMatchObject({ result: 'failed', reason: 'cert_rejected' });
  });

  it('a lane that cannot join Enterprise (Windows, macOS) is said before the job and verifies from its own network', async () => {
    const r = await rig({ devices: 1, adapters: 1 });
    r.fleet.airspace.addAp(HOSPITAL_AP);
    r.withoutEnterprise();
    const p = await r.run([
      ...(await peapArgs(r, { ca: PKI.ca })).map((a) =>
        a === 'radius.hospital.example' ? 'lab.example' : a,
      ),
      '--verify-timeout',
      '5',
    ]);
    expect(p.err).toMatch(/warning: .* cannot join Hospital-Staff itself \(no 802\.1X here\)/);
    // The lab's Workshop does not route to the Enterprise network: joined, but not seen from there.
    const [d] = await reportOf(r, p);
    expect(d).toMatchObject({ result: 'failed', reason: 'not_rediscovered' });
  });

  it('static IPv4 per device from the manifest: verified at its address with mDNS blocked', async () => {
    const r = await rig({ devices: 2, adapters: 1 }, (i) => `192.168.50.${200 + i}/24`);
    r.silenceMdns();
    const pass = await r.file('pass.txt', 'correct horse');
    const p = await r.run([
      'provision',
      '--ssid',
      'LabNet',
      '--passphrase-file',
      pass,
      '--manifest',
      join(r.dir, 'manifest.csv'),
      '--gateway',
      '192.168.50.1',
      '--verify-timeout',
      '5',
    ]);
    expect(p.code, p.out + p.err).toBe(EXIT.OK);
    const devices = await reportOf(r, p);
    expect(devices.map((d) => d.ip).sort()).toEqual(['192.168.50.200', '192.168.50.201']);
    // Not over mDNS (silenced) and not at an address it reported (no AP+STA): at its static address.
    for (const d of devices)
      expect(d).toMatchObject({
        result: 'verified',
        detail: expect.stringContaining(`verified by unicast at ${d.ip ?? '?'}`) as unknown,
      });
  });
});
