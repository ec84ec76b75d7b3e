/** Enterprise (802.1X) networks and static IPv4, as networkInputSchema and siteNetworkSchema judge them. */
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../shared/errors';
import {
  EAP_LIMITS,
  eapInputSchema,
  serverValidationOf,
  type EapInputRaw,
} from '../../../shared/protocol/eap';
import {
  isSecretPath,
  joinSecrets,
  NETWORK_SECRET_KEYS,
  networkInputSchema,
  parseNetworkInput,
  siteNetworkSchema,
  splitSecrets,
  type NetworkInputRaw,
} from '../../../shared/protocol/network-input';
import { staticIpv4Schema } from '../../../shared/protocol/static-ipv4';
import { parseOrThrow } from '../../../shared/validate';
import { KEY_PASSPHRASE, PKI } from '../../fixtures/pki/pki';
import { expectAirliftError, expectSchemaCode } from './expect-airlift';

const peap: EapInputRaw = {
  method: 'peap',
  identity: 'alice@lab.example',
  password: 'pa55 "w0rd"',
  caCert: PKI.ca,
};
const tls: EapInputRaw = {
  method: 'tls',
  identity: 'device-01@lab.example',
  caCert: PKI.ca,
  clientCert: PKI.client,
  clientKey: PKI.clientKeyEncrypted,
  clientKeyPassphrase: KEY_PASSPHRASE,
};
const corp = (eap: EapInputRaw, extra: Partial<NetworkInputRaw> = {}): NetworkInputRaw => ({
  ssid: 'Corp',
  security: 'wpa2-enterprise',
  eap,
  ...extra,
});

/** An eap block as a hostile client may send it, outside the types. */
const untyped = (eap: Record<string, unknown>): EapInputRaw => eap as EapInputRaw;

function expectRefused(raw: unknown, code: ErrorCode, path: string): void {
  const err = expectAirliftError(() => parseNetworkInput(raw), code);
  const issues = err.details?.issues as { path: string; message: string }[];
  expect(issues[0]?.path).toBe(path);
}

describe('Enterprise networks', () => {
  it('normalises PEAP: phase2 defaults to mschapv2, the CA is written anew', () => {
    const net = parseNetworkInput(corp({ ...peap, caCert: PKI.caWithText }));
    expect(net).toMatchObject({ security: 'wpa2-enterprise', hidden: false, priority: 0 });
    expect(net.eap).toEqual({
      method: 'peap',
      phase2: 'mschapv2',
      identity: 'alice@lab.example',
      password: 'pa55 "w0rd"',
      caCert: PKI.ca,
    });
    expect(serverValidationOf(net.eap ?? { caCert: undefined })).toBe('ca');
  });

  it('infers wpa2-enterprise from an eap block, and keeps wpa3-enterprise', () => {
    expect(parseNetworkInput({ ssid: 'Corp', eap: peap }).security).toBe('wpa2-enterprise');
    expect(parseNetworkInput(corp(peap, { security: 'wpa3-enterprise' })).security).toBe('wpa3-enterprise');
  });

  it('takes TTLS with PAP or MSCHAPv2, an anonymous identity and a domain (lowercased)', () => {
    const net = parseNetworkInput(
      corp({
        ...peap,
        method: 'ttls',
        phase2: 'pap',
        anonymousIdentity: 'anonymous@lab.example',
        domainMatch: 'RADIUS.Lab.Example.',
      }),
    );
    expect(net.eap).toMatchObject({
      phase2: 'pap',
      anonymousIdentity: 'anonymous@lab.example',
      domainMatch: 'radius.lab.example',
    });
    expect(serverValidationOf(net.eap ?? {})).toBe('ca-and-domain');
  });

  it('takes EAP-TLS with each key form', () => {
    expect(parseNetworkInput(corp(tls)).eap).toMatchObject({
      method: 'tls',
      clientKeyPassphrase: KEY_PASSPHRASE,
    });
    const plain = { ...tls, clientKey: PKI.clientKey, clientKeyPassphrase: undefined };
    expect(parseNetworkInput(corp(plain)).eap?.clientKey).toBe(PKI.clientKey);
    const legacy = { ...tls, clientKey: PKI.rsaLegacyKeyEncrypted };
    expect(parseNetworkInput(corp(legacy)).eap?.clientKey).toContain('Proc-Type: 4,ENCRYPTED');
  });

  it('is idempotent: the output parses to itself', () => {
    for (const raw of [
      corp(peap),
      corp(tls),
      corp({ method: 'ttls', identity: 'x', password: 'y', insecureNoCaValidation: true }),
    ]) {
      const once = parseNetworkInput(raw);
      const { ssidHex, ...rest } = once;
      expect(parseNetworkInput({ ...rest, ssidHex })).toEqual(once);
    }
  });

  it('needs a CA unless the technician opts out, and says how', () => {
    const { caCert: _ca, ...noCa } = peap;
    const err = expectAirliftError(() => parseNetworkInput(corp(noCa)), 'INVALID_EAP');
    expect(err.message).toMatch(/insecureNoCaValidation: true/);
    const insecure = parseNetworkInput(corp({ ...noCa, insecureNoCaValidation: true }));
    expect(insecure.eap?.insecureNoCaValidation).toBe(true);
    expect(serverValidationOf(insecure.eap ?? {})).toBe('none');
  });

  it.each<[string, NetworkInputRaw | Record<string, unknown>, ErrorCode, string]>([
    [
      'eap on a PSK network',
      { ssid: 'Home', security: 'wpa2-psk', passphrase: 'password', eap: peap },
      'INVALID_EAP',
      'eap',
    ],
    ['enterprise without eap', { ssid: 'Corp', security: 'wpa2-enterprise' }, 'INVALID_EAP', 'eap'],
    ['a top-level passphrase', corp(peap, { passphrase: 'password' }), 'INVALID_PASSPHRASE', 'passphrase'],
    ['an unknown method', corp({ ...peap, method: 'leap' }), 'INVALID_EAP', 'eap.method'],
    ['PAP inside PEAP', corp({ ...peap, phase2: 'pap' }), 'INVALID_EAP', 'eap.phase2'],
    ['phase2 on TLS', corp({ ...tls, phase2: 'mschapv2' }), 'INVALID_EAP', 'eap.phase2'],
    ['PEAP without password', corp({ ...peap, password: '' }), 'INVALID_PASSPHRASE', 'eap.password'],
    ['a password on TLS', corp({ ...tls, password: 'x' }), 'INVALID_EAP', 'eap.password'],
    ['a client cert on PEAP', corp({ ...peap, clientCert: PKI.client }), 'INVALID_EAP', 'eap.clientCert'],
    [
      'TLS without a client cert',
      corp({ ...tls, clientCert: undefined }),
      'INVALID_CERTIFICATE',
      'eap.clientCert',
    ],
    ['TLS without a key', corp({ ...tls, clientKey: undefined }), 'INVALID_CERTIFICATE', 'eap.clientKey'],
    [
      'an encrypted key without passphrase',
      corp({ ...tls, clientKeyPassphrase: undefined }),
      'INVALID_PASSPHRASE',
      'eap.clientKeyPassphrase',
    ],
    [
      'a passphrase for a plain key',
      corp({ ...tls, clientKey: PKI.clientKey }),
      'INVALID_PASSPHRASE',
      'eap.clientKeyPassphrase',
    ],
    ['a key as the CA', corp({ ...peap, caCert: PKI.clientKey }), 'INVALID_CERTIFICATE', 'eap.caCert'],
    [
      'a certificate as the key',
      corp({ ...tls, clientKey: PKI.client }),
      'INVALID_CERTIFICATE',
      'eap.clientKey',
    ],
    ['a cut-short CA', corp({ ...peap, caCert: PKI.ca.slice(0, 300) }), 'INVALID_CERTIFICATE', 'eap.caCert'],
    [
      'a CA over its size',
      corp({ ...peap, caCert: PKI.ca + ' '.repeat(EAP_LIMITS.caCertChars) }),
      'INVALID_CERTIFICATE',
      'eap.caCert',
    ],
    [
      'CA and opt-out together',
      corp({ ...peap, insecureNoCaValidation: true }),
      'INVALID_EAP',
      'eap.insecureNoCaValidation',
    ],
    [
      'a domain without CA',
      corp({ ...peap, caCert: undefined, insecureNoCaValidation: true, domainMatch: 'lab.example' }),
      'INVALID_EAP',
      'eap.domainMatch',
    ],
    [
      'insecureNoCaValidation: false',
      corp(untyped({ ...peap, insecureNoCaValidation: false })),
      'BAD_REQUEST',
      'eap.insecureNoCaValidation',
    ],
    [
      'a domain that is no name',
      corp({ ...peap, domainMatch: 'lab example' }),
      'INVALID_EAP',
      'eap.domainMatch',
    ],
    ['a misspelt field', corp(untyped({ ...peap, caCertificate: PKI.ca })), 'BAD_REQUEST', 'eap'],
  ])('refuses %s', (_label, raw, code, path) => expectRefused(raw, code, path));

  describe('hostile identities and passwords', () => {
    const accepted = [
      "o'brien@lab.example",
      'say "hi"',
      'a}b{c',
      'back\\slash\\',
      'ünïcødé 👩‍💻',
      '#not-a-comment',
      '$(reboot)',
      'x'.repeat(EAP_LIMITS.identityBytes),
    ];
    it.each(accepted)('takes %j as typed', (text) => {
      const net = parseNetworkInput(
        corp({ ...peap, identity: text, anonymousIdentity: text, password: text.slice(0, 128) }),
      );
      expect(net.eap?.identity).toBe(text);
      expect(net.eap?.password).toBe(text.slice(0, 128));
    });
    const refused = [
      'line\nbreak',
      'cr\rhere',
      'nul\0',
      'tab\there',
      'esc\x1b[0m',
      'del\x7f',
      '\ud800lone',
      '',
      'x'.repeat(EAP_LIMITS.identityBytes + 1),
    ];
    it.each(refused)('refuses the identity %j', (text) =>
      expectRefused(corp({ ...peap, identity: text }), 'INVALID_EAP', 'eap.identity'),
    );
    it.each(refused.filter((t) => t !== ''))('refuses the password %j without quoting it', (text) => {
      const err = expectAirliftError(
        () => parseNetworkInput(corp({ ...peap, password: text })),
        'INVALID_PASSPHRASE',
      );
      if (text.length > 3) expect(JSON.stringify(err.toBody())).not.toContain(text);
    });
  });
});

describe('site networks and secrets', () => {
  it('siteNetworkSchema is the network without priority and ipv4', () => {
    const site = parseOrThrow(siteNetworkSchema, corp(peap), 'site');
    expect(site).not.toHaveProperty('priority');
    expect(site.eap?.method).toBe('peap');
    expectSchemaCode(siteNetworkSchema, { ...corp(peap), priority: 1 }, 'BAD_REQUEST');
    expectSchemaCode(siteNetworkSchema, { ...corp(peap), ipv4: { address: '10.0.0.2/24' } }, 'BAD_REQUEST');
  });

  it('splits secrets off and joins them back', () => {
    const net = parseNetworkInput(corp(tls));
    const { open, secrets } = splitSecrets(net);
    expect(JSON.stringify(open)).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(open)).not.toContain(KEY_PASSPHRASE.slice(0, 8));
    expect(open.eap).toMatchObject({ method: 'tls', clientCert: PKI.client, caCert: PKI.ca });
    expect(secrets).toEqual({ eap: { clientKey: net.eap?.clientKey, clientKeyPassphrase: KEY_PASSPHRASE } });
    expect(parseOrThrow(networkInputSchema, { ...joinSecrets(open, secrets), priority: 0 }, 'n')).toEqual(
      net,
    );
    const psk = parseNetworkInput({ ssid: 'Home', passphrase: 'password' });
    expect(splitSecrets(psk)).toEqual({
      open: { ssidHex: psk.ssidHex, security: 'wpa2-psk', hidden: false, priority: 0 },
      secrets: { passphrase: 'password' },
    });
  });

  it('names every secret field', () => {
    expect(NETWORK_SECRET_KEYS).toEqual([
      'passphrase',
      'psk',
      'password',
      'clientKey',
      'clientKeyPassphrase',
    ]);
    expect(isSecretPath(['eap', 'password'])).toBe(true);
    expect(isSecretPath(['eap', 'clientKey'])).toBe(true);
    expect(isSecretPath(['psk'])).toBe(true);
    expect(isSecretPath(['eap', 'caCert'])).toBe(false);
    expect(isSecretPath(['eap', 'identity'])).toBe(false);
    expect(isSecretPath(['password'])).toBe(false);
  });

  it('eapInputSchema alone judges an eap block', () => {
    expect(eapInputSchema.safeParse(peap).success).toBe(true);
  });
});

describe('static IPv4', () => {
  const parse = (raw: unknown) => parseOrThrow(staticIpv4Schema, raw, 'ipv4');

  it('takes address/prefix in one field or two, and normalises', () => {
    const want = {
      address: '192.168.10.23',
      prefixLength: 24,
      gateway: '192.168.10.1',
      dns: ['192.168.10.1', '9.9.9.9'],
    };
    expect(
      parse({ address: '192.168.10.23/24', gateway: '192.168.10.1', dns: ['192.168.10.1', '9.9.9.9'] }),
    ).toEqual(want);
    expect(parse(want)).toEqual(want);
    expect(parse({ address: '10.1.2.3', prefixLength: 8 })).toEqual({
      address: '10.1.2.3',
      prefixLength: 8,
      dns: [],
    });
    expect(parse({ address: '10.1.2.3/8', prefixLength: 8, gateway: '' })).toEqual({
      address: '10.1.2.3',
      prefixLength: 8,
      dns: [],
    });
  });

  it('rides along a network, and only there', () => {
    const net = parseNetworkInput({
      ssid: 'Home',
      passphrase: 'password',
      ipv4: { address: '192.168.1.50/24', gateway: '192.168.1.1' },
    });
    expect(net.ipv4).toEqual({ address: '192.168.1.50', prefixLength: 24, gateway: '192.168.1.1', dns: [] });
    expectRefused({ ssid: 'Home', ipv4: { address: '192.168.1.0/24' } }, 'INVALID_IPV4', 'ipv4.address');
  });

  it.each<[string, unknown, string]>([
    ['no prefix', { address: '192.168.1.5' }, 'prefixLength'],
    ['a prefix that differs', { address: '192.168.1.5/24', prefixLength: 16 }, 'prefixLength'],
    ['/31', { address: '192.168.1.5/31' }, 'prefixLength'],
    ['/0', { address: '192.168.1.5/0' }, 'prefixLength'],
    ['garbage', { address: '192.168.1/24' }, 'address'],
    ['a leading zero', { address: '192.168.01.5/24' }, 'address'],
    ['the network address', { address: '192.168.1.0/24' }, 'address'],
    ['the broadcast address', { address: '192.168.1.255/24' }, 'address'],
    ['loopback', { address: '127.0.0.2/8' }, 'address'],
    ['multicast', { address: '239.1.2.3/24' }, 'address'],
    ['link-local', { address: '169.254.3.4/16' }, 'address'],
    ['a gateway off-link', { address: '192.168.1.5/24', gateway: '192.168.2.1' }, 'gateway'],
    ['a gateway that is the address', { address: '192.168.1.5/24', gateway: '192.168.1.5' }, 'gateway'],
    ['a gateway on the broadcast', { address: '10.0.0.5/30', gateway: '10.0.0.7' }, 'gateway'],
    ['a bad DNS server', { address: '10.0.0.5/24', dns: ['10.0.0.1', 'dns.example'] }, 'dns.1'],
    ['a DNS server twice', { address: '10.0.0.5/24', dns: ['10.0.0.1', '10.0.0.1'] }, 'dns'],
  ])('refuses %s', (_label, raw, path) => {
    const err = expectSchemaCode(staticIpv4Schema, raw, 'INVALID_IPV4');
    expect((err.details?.issues as { path: string }[])[0]?.path).toBe(path);
  });

  it('refuses a fourth DNS server and unknown keys', () => {
    expectSchemaCode(
      staticIpv4Schema,
      { address: '10.0.0.5/24', dns: ['1.1.1.1', '1.0.0.1', '9.9.9.9', '8.8.8.8'] },
      'BAD_REQUEST',
    );
    expectSchemaCode(staticIpv4Schema, { address: '10.0.0.5/24', netmask: '255.255.255.0' }, 'BAD_REQUEST');
  });
});
