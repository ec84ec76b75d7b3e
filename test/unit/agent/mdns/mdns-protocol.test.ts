/** shared/protocol/mdns.ts: the TXT record both sides rely on, and the RFC 6763 limits advertisers enforce. */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AirliftError } from '../../../../shared/errors';
import {
  ADVERTISED_STATES,
  SERVICE_TYPE,
  advertisementSchema,
  buildTxt,
  instanceName,
  parseTxt,
  serviceInstanceFqdn,
  txtRecordFromEntries,
  txtRecordSchema,
} from '../../../../shared/protocol/mdns';
import { DEVICE_STATES } from '../../../../shared/protocol/api';

const base = { deviceId: 'K7Q2M6XA', model: 'pi-zero-2w', fw: '1.4.0' } as const;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AirliftError ? err.code : `not an AirliftError: ${String(err)}`;
  }
  return undefined;
}

describe('names', () => {
  it('follows protocol.md', () => {
    expect(SERVICE_TYPE).toBe('_airlift._tcp');
    expect(instanceName('K7Q2M6XA')).toBe('Airlift K7Q2M6XA');
    expect(serviceInstanceFqdn('K7Q2M6XA')).toBe('Airlift K7Q2M6XA._airlift._tcp.local');
  });

  it('refuses a malformed device id', () => {
    for (const id of ['k7q2m6xa', 'K7Q2M6X', 'K7Q2M6XA1', 'K7Q2M6X0', 'K7Q2M6X8', 'K7Q2 6XA', '']) {
      expect(
        codeOf(() => instanceName(id)),
        id,
      ).toBe('INVALID_DEVICE_ID');
    }
  });
});

describe('buildTxt', () => {
  it('builds the six protocol keys in order', () => {
    const txt = buildTxt({ ...base, state: 'setup' });
    expect(txt).toEqual({ id: 'K7Q2M6XA', v: '1', st: 'setup', pv: '', md: 'pi-zero-2w', fw: '1.4.0' });
    expect(Object.keys(txt)).toEqual(['id', 'v', 'st', 'pv', 'md', 'fw']);
  });

  it('advertises booting as connecting and every other state as itself', () => {
    for (const state of DEVICE_STATES) {
      const st = buildTxt({ ...base, state }).st;
      expect(st).toBe(state === 'booting' ? 'connecting' : state);
      expect(ADVERTISED_STATES).toContain(st);
    }
  });

  it('puts the first 8 hex chars of the job nonce, lowercased, in pv', () => {
    expect(buildTxt({ ...base, state: 'failsafe', lastNonceHex: 'ABCDEF0123456789' }).pv).toBe('abcdef01');
    expect(buildTxt({ ...base, state: 'online', lastNonceHex: '' }).pv).toBe('');
    expect(codeOf(() => buildTxt({ ...base, state: 'online', lastNonceHex: 'abc' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => buildTxt({ ...base, state: 'online', lastNonceHex: 'zzzzzzzzzz' }))).toBe(
      'BAD_REQUEST',
    );
  });

  it('refuses a bad id and values that do not fit a TXT string', () => {
    expect(codeOf(() => buildTxt({ ...base, deviceId: 'nope', state: 'setup' }))).toBe('INVALID_DEVICE_ID');
    expect(codeOf(() => buildTxt({ ...base, model: 'x'.repeat(253), state: 'setup' }))).toBe(
      'INVALID_CONFIG',
    );
    expect(codeOf(() => buildTxt({ ...base, fw: '1.0\n', state: 'setup' }))).toBe('INVALID_CONFIG');
    // 255 bytes exactly ("md=" + 252) is the RFC 6763 §6.1 limit and fits.
    expect(buildTxt({ ...base, model: 'x'.repeat(252), state: 'setup' }).md).toHaveLength(252);
  });
});

describe('parseTxt', () => {
  it('round-trips buildTxt', () => {
    const txt = buildTxt({ ...base, state: 'failsafe', lastNonceHex: '0123456789abcdef' });
    expect(parseTxt(txt)).toEqual(txt);
  });

  it('reads bytes, ignores key case and keeps extra keys', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const parsed = parseTxt({ ID: enc('K7Q2M6XA'), V: '1', st: enc('online'), pv: 'ABCDEF01', extra: 'yes' });
    expect(parsed).toEqual({
      id: 'K7Q2M6XA',
      v: '1',
      st: 'online',
      pv: 'abcdef01',
      md: '',
      fw: '',
      extra: 'yes',
    });
  });

  it('refuses a bad id with INVALID_DEVICE_ID', () => {
    for (const id of ['k7q2m6xa', 'K7Q2M6X', '', '<script>']) {
      expect(
        codeOf(() => parseTxt({ id, v: '1', st: 'online' })),
        id,
      ).toBe('INVALID_DEVICE_ID');
    }
    expect(codeOf(() => parseTxt({ v: '1', st: 'online' }))).toBe('BAD_REQUEST');
  });

  it('refuses unknown states, malformed pv and non-UTF-8 values', () => {
    expect(codeOf(() => parseTxt({ id: 'K7Q2M6XA', v: '1', st: 'booting' }))).toBe('BAD_REQUEST');
    expect(codeOf(() => parseTxt({ id: 'K7Q2M6XA', v: '1', st: 'online', pv: 'xyz' }))).toBe('BAD_REQUEST');
    expect(
      codeOf(() => parseTxt({ id: 'K7Q2M6XA', v: '1', st: 'online', md: new Uint8Array([0xff, 0xfe]) })),
    ).toBe('BAD_REQUEST');
  });
});

describe('txtRecordFromEntries (RFC 6763 §6.4)', () => {
  it('first occurrence wins, keys are case-insensitive, bare keys are present and empty', () => {
    const record = txtRecordFromEntries(['id=K7Q2M6XA', 'ID=AAAAAAAA', 'flag', '', '=orphan', 'eq=a=b']);
    const text = Object.fromEntries(
      Object.entries(record).map(([k, v]) => [k, typeof v === 'string' ? v : new TextDecoder().decode(v)]),
    );
    expect(text).toEqual({ id: 'K7Q2M6XA', flag: '', eq: 'a=b' });
  });

  it('keeps value bytes as given', () => {
    const record = txtRecordFromEntries([new Uint8Array([0x6b, 0x3d, 0x00, 0xff])]);
    expect(record.k).toEqual(new Uint8Array([0x00, 0xff]));
  });
});

describe('advertisementSchema / txtRecordSchema', () => {
  const ad = {
    instance: 'Airlift K7Q2M6XA',
    hostname: 'airlift-k7q2m6xa',
    port: 4780,
    txt: { id: 'K7Q2M6XA' },
  };
  const code = (value: unknown, schema: z.ZodType = advertisementSchema): string | undefined => {
    const r = schema.safeParse(value);
    if (r.success) return undefined;
    const params = (r.error.issues[0] as { params?: { code?: string } }).params;
    return params?.code ?? 'BAD_REQUEST';
  };

  it('accepts a protocol advertisement, with or without interfaces', () => {
    expect(code(ad)).toBeUndefined();
    expect(code({ ...ad, interfaces: ['eth0', 'wlan0'] })).toBeUndefined();
    // RFC 6763 §4.1.1: any UTF-8 up to 63 bytes, including dots and punctuation.
    expect(code({ ...ad, instance: 'Büro <Pi> & "4". %h' })).toBeUndefined();
  });

  it('refuses, as INVALID_CONFIG, what DNS-SD or an interface list cannot carry', () => {
    const bad: unknown[] = [
      { ...ad, instance: '' },
      { ...ad, instance: 'é'.repeat(32) }, // 64 bytes
      { ...ad, instance: 'line\nbreak' },
      { ...ad, hostname: 'airlift.local' },
      { ...ad, hostname: '-airlift' },
      { ...ad, hostname: 'a'.repeat(64) },
      { ...ad, port: 0 },
      { ...ad, port: 65536 },
      { ...ad, port: 80.5 },
      { ...ad, interfaces: [] },
      { ...ad, interfaces: ['eth0/../x'] },
      { ...ad, interfaces: ['averyveryverylongname'] },
      { ...ad, txt: { 'a=b': 'c' } },
      { ...ad, txt: { '': 'c' } },
      { ...ad, txt: { k: '\u0000' } },
      { ...ad, txt: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'x'.repeat(120)])) },
    ];
    for (const value of bad) expect(code(value), JSON.stringify(value)).toBe('INVALID_CONFIG');
  });

  it('limits each TXT string to 255 bytes counted in UTF-8', () => {
    expect(code({ k: 'é'.repeat(126) }, txtRecordSchema)).toBeUndefined(); // 2 + 252 bytes
    expect(code({ k: 'é'.repeat(127) }, txtRecordSchema)).toBe('INVALID_CONFIG'); // 2 + 254 bytes
  });
});
