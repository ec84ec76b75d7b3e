import { describe, expect, it } from 'vitest';
import { PKI } from '../../fixtures/pki/pki';
import {
  eapDraftOf,
  eapProblems,
  heardMatch,
  ipv4DraftOf,
  ipv4Problem,
  passwordProblem,
  passwordView,
  saveParams,
  securityOfHeard,
  type ProfileDraft,
} from '../../../renderer/src/profile-form';
import type { Profile } from '../../../shared/station-api';

const profile = (password: Profile['password']): Profile => ({
  id: 'abcdefgh',
  name: 'Plant',
  ssid: 'Plant-WiFi',
  ssidHex: '506c616e742d57694669',
  security: 'wpa2-psk',
  hidden: false,
  password,
  updatedAt: '2026-11-30T12:00:00Z',
});

describe('password field', () => {
  it('never shows a saved password: a held one is a statement, replacing it asks', () => {
    expect(passwordView(profile({ held: true, storage: 'keychain' }), 'wpa2-psk', false)).toEqual({
      kind: 'held',
      storage: 'keychain',
    });
    expect(passwordView(profile({ held: true }), 'wpa2-psk', false)).toEqual({
      kind: 'held',
      storage: 'session',
    });
    expect(passwordView(profile({ held: true }), 'wpa2-psk', true)).toEqual({ kind: 'ask' });
    expect(passwordView(profile({ held: true, unreadable: true }), 'wpa2-psk', false)).toEqual({
      kind: 'unreadable',
    });
    expect(passwordView(profile({ held: false }), 'wpa2-psk', false)).toEqual({ kind: 'ask' });
    expect(passwordView(undefined, 'wpa3-sae', false)).toEqual({ kind: 'ask' });
    expect(passwordView(profile({ held: true }), 'open', false)).toEqual({ kind: 'none' });
  });

  it('the rules of each security, in words (never quoting the password)', () => {
    expect(passwordProblem('open', '')).toBeUndefined();
    expect(passwordProblem('wpa2-psk', '')).toBe('Type the network password');
    expect(passwordProblem('wpa2-psk', 'short')).toContain('8..63');
    expect(passwordProblem('wpa2-psk', 'correct horse')).toBeUndefined();
    expect(passwordProblem('wpa2-psk', 'a'.repeat(64).replace(/a/g, 'f'))).toBeUndefined(); // a raw PSK
    expect(passwordProblem('wpa2-psk', 'grüße123')).toContain('printable ASCII');
    expect(passwordProblem('wpa3-sae', 'grüße')).toBeUndefined();
    expect(passwordProblem('wpa3-sae', 'line\nbreak')).not.toContain('line');
  });
});

describe('save params', () => {
  const draft: ProfileDraft = {
    name: ' Plant ',
    ssid: 'Plant-WiFi',
    security: 'wpa2-psk',
    hidden: false,
    password: 'correct horse',
    storage: 'session',
    eap: eapDraftOf(undefined),
    ipv4: ipv4DraftOf(undefined),
  };

  it('sends the password only when one was asked for', () => {
    expect(saveParams(draft, true)).toEqual({
      name: 'Plant',
      ssid: 'Plant-WiFi',
      security: 'wpa2-psk',
      hidden: false,
      password: 'correct horse',
      storage: 'session',
    });
    expect(saveParams({ ...draft, id: 'abcdefgh' }, false)).not.toHaveProperty('password');
    expect(saveParams({ ...draft, security: 'open' }, true)).not.toHaveProperty('password');
  });

  it('a picked network goes by its bytes', () => {
    expect(saveParams({ ...draft, ssidHex: 'c3a9' }, true)).toMatchObject({ ssidHex: 'c3a9' });
    expect(saveParams({ ...draft, ssidHex: 'c3a9' }, true)).not.toHaveProperty('ssid');
  });

  it('heard networks: security and exact matches', () => {
    expect(securityOfHeard('wpa2-wpa3')).toBe('wpa2-psk');
    expect(securityOfHeard('wpa3-sae')).toBe('wpa3-sae');
    expect(securityOfHeard('open')).toBe('open');
    // An 802.1X network is now one a profile can hold (WPA3-Enterprise is told apart by the technician).
    expect(securityOfHeard('enterprise')).toBe('wpa2-enterprise');
    const nets = [{ ssid: 'A', ssidHex: '41', security: 'open', devicesHearing: 1 }];
    expect(heardMatch(nets, 'A')?.ssidHex).toBe('41');
    expect(heardMatch(nets, 'a')).toBeUndefined();
  });
});

describe('Enterprise and static IPv4 in the editor', () => {
  const eap = { ...eapDraftOf(undefined), identity: 'svc@example.org' };
  const draft: ProfileDraft = {
    name: 'Hospital',
    ssid: 'Hospital-Staff',
    security: 'wpa2-enterprise',
    hidden: false,
    password: '',
    storage: 'session',
    eap,
    ipv4: ipv4DraftOf(undefined),
  };

  it('says what is missing in the shared rules’ words; a held secret or CA may stay blank', () => {
    expect(eapProblems(eap, undefined, false)).toEqual({
      password: 'Type the password',
      caCert: "Add the site's CA certificate, or choose not to validate the server",
    });
    expect(
      eapProblems({ ...eap, identity: 'a\nb', password: 'pw', caCert: 'junk' }, undefined, false),
    ).toMatchObject({
      identity: expect.stringContaining('control characters') as unknown,
      caCert: expect.any(String) as unknown,
    });
    const held = {
      method: 'peap' as const,
      identity: 'svc@example.org',
      serverValidation: 'ca' as const,
      caCertSet: true,
      clientCertSet: false,
      clientKeySet: false,
      clientKeyPassphraseSet: false,
    };
    expect(eapProblems(eap, held, true)).toEqual({});
    // Another method: what was held for PEAP does not count.
    expect(eapProblems({ ...eap, method: 'tls' }, held, true)).toMatchObject({
      clientCert: expect.any(String) as unknown,
    });
    expect(eapProblems({ ...eap, password: 'pw', noCa: true }, undefined, false)).toEqual({});
    expect(
      eapProblems(
        { ...eap, method: 'tls', caCert: PKI.ca, clientCert: PKI.client, clientKey: PKI.clientKeyEncrypted },
        undefined,
        false,
      ),
    ).toEqual({ clientKeyPassphrase: 'This key is encrypted: type its passphrase' });
  });

  it('sends the eap block with the opt-out explicit, and static IPv4 as typed', () => {
    const params = saveParams(
      {
        ...draft,
        security: 'wpa2-enterprise',
        eap: { ...eap, password: 'pw', noCa: true, caCert: 'x' },
        ipv4: { on: true, address: '10.0.0.5/24', gateway: '', dns: '10.0.0.1, ' },
      },
      false,
    );
    expect(params).toMatchObject({
      eap: { method: 'peap', identity: 'svc@example.org', password: 'pw', insecureNoCaValidation: true },
      ipv4: { address: '10.0.0.5/24', dns: ['10.0.0.1'] },
    });
    expect(params.eap).not.toHaveProperty('caCert');
    expect(params).not.toHaveProperty('password');
    expect(ipv4Problem({ on: true, address: '10.0.0.5/24', gateway: '10.0.1.1', dns: '' })).toMatchObject({
      field: 'gateway',
    });
    expect(ipv4Problem({ on: true, address: '10.0.0.0/24', gateway: '', dns: '' })).toMatchObject({
      field: 'address',
    });
    expect(ipv4Problem({ on: false, address: '', gateway: '', dns: '' })).toBeUndefined();
  });
});
