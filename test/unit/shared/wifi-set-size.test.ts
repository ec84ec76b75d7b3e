/**
 * A wifi.set carrying certificates fits one RPC record: the largest networks the schema lets through
 * (WIFI_SET_NETWORKS_MAX_BYTES, with the escapes JSON adds), sealed as the session client seals a call,
 * stay under the record's and the agent's body caps; a byte more is refused before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { RecordSealer } from '../../../shared/crypto/record';
import { utf8Encode } from '../../../shared/encoding';
import {
  MAX_BODY_BYTES,
  MAX_NETWORKS_PER_SET,
  networksJsonBytes,
  WIFI_SET_NETWORKS_MAX_BYTES,
  wifiSetParamsSchema,
} from '../../../shared/protocol/api';
import { EAP_LIMITS } from '../../../shared/protocol/eap';
import { parseNetworkInput, type NetworkInputRaw } from '../../../shared/protocol/network-input';
import { RPC_MAX_CT_CHARS, RPC_PATH } from '../../../shared/protocol/session';
import { PKI } from '../../fixtures/pki/pki';
import { expectSchemaCode } from './expect-airlift';

/** An EAP-TLS network with `cas` CA certificates, `clientCerts` in its chain and an identity of `quotes` double quotes (2 bytes each in JSON). */
function bigNetwork(i: number, cas: number, quotes: number, clientCerts = 1): NetworkInputRaw {
  return {
    ssidHex: 'ff'.repeat(31) + i.toString(16).padStart(2, '0'),
    security: 'wpa3-enterprise',
    hidden: true,
    priority: -1000,
    eap: {
      method: 'tls',
      identity: '"'.repeat(quotes),
      anonymousIdentity: '\\'.repeat(EAP_LIMITS.identityBytes),
      caCert: PKI.ca.repeat(cas),
      clientCert: PKI.client.repeat(clientCerts),
      clientKey: PKI.rsaLegacyKeyEncrypted,
      clientKeyPassphrase: '"'.repeat(EAP_LIMITS.keyPassphraseBytes),
      domainMatch: `${'a'.repeat(60)}.${'b'.repeat(60)}.example`,
    },
    ipv4: {
      address: '172.16.100.200/16',
      gateway: '172.16.255.254',
      dns: ['172.16.255.253', '172.16.255.252', '172.16.255.251'],
    },
  };
}

/** Eight networks, as large as the budget allows: CA bundles first, then identities to the last byte. */
function largestSet(): NetworkInputRaw[] {
  const set = (cas: number, quotes: number) =>
    Array.from({ length: MAX_NETWORKS_PER_SET }, (_, i) => bigNetwork(i, cas, quotes));
  const bytes = (raw: NetworkInputRaw[]) => networksJsonBytes(raw.map((n) => parseNetworkInput(n)));
  let cas = 1;
  while (cas < EAP_LIMITS.caCerts && bytes(set(cas + 1, 1)) <= WIFI_SET_NETWORKS_MAX_BYTES) cas++;
  let quotes = 1;
  while (quotes < EAP_LIMITS.identityBytes && bytes(set(cas, quotes + 1)) <= WIFI_SET_NETWORKS_MAX_BYTES)
    quotes++;
  return set(cas, quotes);
}

describe('wifi.set size', () => {
  it('the largest accepted set fits one record and one request body', () => {
    const networks = largestSet();
    const params = wifiSetParamsSchema.parse({
      networks,
      mode: 'replace',
      nonce: 'f'.repeat(64),
      commit: 'confirm',
      failsafeSeconds: 3600,
      apply: 'later',
    });
    const used = networksJsonBytes(params.networks);
    expect(used).toBeLessThanOrEqual(WIFI_SET_NETWORKS_MAX_BYTES);
    expect(used).toBeGreaterThan(WIFI_SET_NETWORKS_MAX_BYTES - 1024);
    // What the station sends is the normalised networks (profiles keep them so), in the call's envelope.
    const call = JSON.stringify({ id: Number.MAX_SAFE_INTEGER, method: 'wifi.set', params });
    const sealer = new RecordSealer(new Uint8Array(32).fill(7), 'A'.repeat(22));
    const { ct } = sealer.seal(RPC_PATH, utf8Encode(call));
    expect(ct.length).toBeLessThanOrEqual(RPC_MAX_CT_CHARS);
    const body = JSON.stringify({ sid: 'A'.repeat(22), ctr: Number.MAX_SAFE_INTEGER, ct });
    expect(utf8Encode(body).length).toBeLessThanOrEqual(MAX_BODY_BYTES);
  });

  it('one network with every field at its cap fits on its own', () => {
    const raw = bigNetwork(0, EAP_LIMITS.caCerts, EAP_LIMITS.identityBytes, EAP_LIMITS.clientCerts);
    expect(networksJsonBytes([parseNetworkInput(raw)])).toBeLessThan(WIFI_SET_NETWORKS_MAX_BYTES / 2);
  });

  it('more than the budget is PAYLOAD_TOO_LARGE, before anything is sealed', () => {
    const networks = largestSet().map((n, i) =>
      i === 0 && n.eap ? { ...n, eap: { ...n.eap, caCert: PKI.ca.repeat(EAP_LIMITS.caCerts) } } : n,
    );
    const err = expectSchemaCode(wifiSetParamsSchema, { networks }, 'PAYLOAD_TOO_LARGE');
    expect(err.message).toMatch(/mode "add"/);
  });
});
