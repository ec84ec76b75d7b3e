import { describe, expect, it } from 'vitest';
import { AirliftError } from '../../../../shared/errors';
import { parseOrThrow } from '../../../../shared/validate';
import {
  CONTROL_METHODS,
  JSONRPC_ERRORS,
  airliftErrorFromControl,
  appReportParamsSchema,
  controlErrorObject,
  controlParamsSchemas,
  controlRequestSchema,
  controlResultSchemas,
  controlServerMessageSchema,
  networksScanParamsSchema,
  rpcCodeFor,
  wifiAddParamsSchema,
} from '../../../../shared/protocol/control';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AirliftError) return err.code;
    throw err;
  }
  return undefined;
}

describe('control protocol schemas', () => {
  it('has params and result schemas for every method', () => {
    expect(Object.keys(controlParamsSchemas).sort()).toEqual([...CONTROL_METHODS].sort());
    expect(Object.keys(controlResultSchemas).sort()).toEqual([...CONTROL_METHODS].sort());
  });

  it('accepts JSON-RPC 2.0 requests and refuses other shapes', () => {
    expect(controlRequestSchema.safeParse({ jsonrpc: '2.0', id: 1, method: 'status' }).success).toBe(true);
    expect(controlRequestSchema.safeParse({ jsonrpc: '2.0', method: 'status' }).success).toBe(true);
    expect(controlRequestSchema.safeParse({ jsonrpc: '2.0', id: 'a', method: 'x', params: {} }).success).toBe(
      true,
    );
    expect(controlRequestSchema.safeParse({ jsonrpc: '1.0', id: 1, method: 'status' }).success).toBe(false);
    expect(controlRequestSchema.safeParse({ jsonrpc: '2.0', id: 1.5, method: 'status' }).success).toBe(false);
    expect(controlRequestSchema.safeParse({ jsonrpc: '2.0', id: {}, method: 'status' }).success).toBe(false);
    expect(controlRequestSchema.safeParse({ jsonrpc: '2.0', id: 1, method: '' }).success).toBe(false);
    expect(
      controlRequestSchema.safeParse({ jsonrpc: '2.0', id: 1, method: 'status', extra: 1 }).success,
    ).toBe(false);
  });

  it('wifi.add: one network plus apply, normalised by networkInputSchema', () => {
    expect(
      parseOrThrow(wifiAddParamsSchema, { ssid: 'LabNet', passphrase: 'correct horse', apply: 'later' }, 'p'),
    ).toEqual({
      network: {
        ssidHex: '4c61624e6574',
        security: 'wpa2-psk',
        passphrase: 'correct horse',
        hidden: false,
        priority: 0,
      },
      apply: 'later',
    });
    expect(parseOrThrow(wifiAddParamsSchema, { ssidHex: '4C61', security: 'open' }, 'p')).toEqual({
      network: { ssidHex: '4c61', security: 'open', hidden: false, priority: 0 },
    });
  });

  it('wifi.add keeps the stable codes of network validation', () => {
    expect(
      codeOf(() => parseOrThrow(wifiAddParamsSchema, { ssid: 'LabNet', passphrase: 'short' }, 'p')),
    ).toBe('INVALID_PASSPHRASE');
    expect(codeOf(() => parseOrThrow(wifiAddParamsSchema, { ssid: 'x'.repeat(33) }, 'p'))).toBe(
      'INVALID_SSID',
    );
    expect(codeOf(() => parseOrThrow(wifiAddParamsSchema, { ssid: 'a', security: 'wep' }, 'p'))).toBe(
      'UNSUPPORTED_SECURITY',
    );
    expect(
      codeOf(() => parseOrThrow(wifiAddParamsSchema, { ssid: 'a', password: 'correct horse' }, 'p')),
    ).toBe('BAD_REQUEST');
    expect(
      codeOf(() => parseOrThrow(wifiAddParamsSchema, { ssid: 'a', security: 'open', apply: 'soon' }, 'p')),
    ).toBe('BAD_REQUEST');
    expect(codeOf(() => parseOrThrow(wifiAddParamsSchema, undefined, 'p'))).toBe('BAD_REQUEST');
    expect(codeOf(() => parseOrThrow(wifiAddParamsSchema, ['a'], 'p'))).toBe('BAD_REQUEST');
  });

  it('wifi.add error messages never quote the secret', () => {
    const result = wifiAddParamsSchema.safeParse({ ssid: 'LabNet', passphrase: 'sekrit\u0001pass' });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).not.toContain('sekrit');
  });

  it('app.report: name charset and length, states from APP_STATES, integer codes', () => {
    const ok = { name: 'my-app_1.0', state: 'ok', code: 0, connectivity: { state: 'degraded', code: 2 } };
    expect(appReportParamsSchema.parse(ok)).toEqual(ok);
    for (const bad of [
      { ...ok, name: '' },
      { ...ok, name: 'a'.repeat(65) },
      { ...ok, name: 'has space' },
      { ...ok, name: 'ünï' },
      { ...ok, state: 'happy' },
      { ...ok, code: 1.5 },
      { ...ok, connectivity: { state: 'ok' } },
      { ...ok, extra: true },
    ]) {
      expect(appReportParamsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(appReportParamsSchema.safeParse({ ...ok, name: 'a'.repeat(64) }).success).toBe(true);
  });

  it('methods without params take nothing, {} or null', () => {
    for (const v of [undefined, null, {}])
      expect(controlParamsSchemas.status.safeParse(v).success).toBe(true);
    expect(controlParamsSchemas.status.safeParse({ a: 1 }).success).toBe(false);
    expect(controlParamsSchemas['wifi.list'].safeParse([]).success).toBe(false);
    expect(networksScanParamsSchema.parse(undefined)).toEqual({});
    expect(networksScanParamsSchema.parse({ force: true })).toEqual({ force: true });
    expect(networksScanParamsSchema.safeParse({ force: 'yes' }).success).toBe(false);
  });

  it('wifi.forget takes exactly one of id, ssid, ssidHex', () => {
    const s = controlParamsSchemas['wifi.forget'];
    expect(s.safeParse({ id: 'a1b2c3d4' }).success).toBe(true);
    expect(s.safeParse({ ssid: 'LabNet' }).success).toBe(true);
    expect(s.safeParse({ ssidHex: '4c61' }).success).toBe(true);
    expect(s.safeParse({}).success).toBe(false);
    expect(s.safeParse({ id: 'a', ssid: 'b' }).success).toBe(false);
  });

  it('carries the Airlift code in error.data and back', () => {
    const err = new AirliftError('RATE_LIMITED', 'slow down', { retryAfterMs: 500 });
    const obj = controlErrorObject(rpcCodeFor(err.code), err);
    expect(obj).toEqual({
      code: JSONRPC_ERRORS.SERVER_ERROR,
      message: 'slow down',
      data: { code: 'RATE_LIMITED', retryable: true, details: { retryAfterMs: 500 } },
    });
    expect(controlServerMessageSchema.safeParse({ jsonrpc: '2.0', id: 1, error: obj }).success).toBe(true);
    const back = airliftErrorFromControl(obj);
    expect(back).toMatchObject({
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryable: true,
      details: { retryAfterMs: 500 },
    });
    expect(rpcCodeFor('UNKNOWN_METHOD')).toBe(JSONRPC_ERRORS.METHOD_NOT_FOUND);
    expect(
      airliftErrorFromControl({
        code: -32000,
        message: 'm',
        data: { code: 'FROM_THE_FUTURE', retryable: false },
      }).code,
    ).toBe('PROTOCOL_ERROR');
  });

  it('event notifications carry an AgentEvent and no id', () => {
    const note = { jsonrpc: '2.0', method: 'event', params: { type: 'networks', count: 2 } };
    expect(controlServerMessageSchema.safeParse(note).success).toBe(true);
    expect(controlServerMessageSchema.safeParse({ ...note, params: { type: 'nope' } }).success).toBe(false);
    expect(controlServerMessageSchema.safeParse({ ...note, id: 1 }).success).toBe(false);
  });
});
