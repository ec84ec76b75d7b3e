import { describe, expect, it } from 'vitest';
import {
  heardMatch,
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
    expect(securityOfHeard('enterprise')).toBeUndefined();
    const nets = [{ ssid: 'A', ssidHex: '41', security: 'open', devicesHearing: 1 }];
    expect(heardMatch(nets, 'A')?.ssidHex).toBe('41');
    expect(heardMatch(nets, 'a')).toBeUndefined();
  });
});
