import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  airliftContext,
  airliftIdentities,
  deriveProverSecrets,
  deriveSessionKeys,
  makeVerifierRecord,
} from '../../../../shared/crypto/airlift';
import { RecordOpener, RecordSealer } from '../../../../shared/crypto/record';
import { createVerifier, type Spake2PlusVerifier } from '../../../../shared/crypto/spake2plus';
import { fromBase64Url, randomBytes, toBase64Url, utf8Encode } from '../../../../shared/encoding';
import { AirliftError, toAirliftError } from '../../../../shared/errors';
import {
  helloRequestSchema,
  pake1RequestSchema,
  pake2RequestSchema,
  RPC_PATH,
  rpcCallSchema,
  rpcEnvelopeSchema,
  SESSION_HELLO_PATH,
  SESSION_PAKE1_PATH,
  SESSION_PAKE2_PATH,
} from '../../../../shared/protocol/session';
import type { WifiSetResult } from '../../../../shared/protocol/api';
import { openSession, type FetchLike, type ProverSecrets } from '../../../../shared/session/client';
import { parseOrThrow } from '../../../../shared/validate';

const DEVICE = 'K7Q2M6XA';
const SECRET = 'MZXW6YTBOI2DGNBVGY3TQOJQGE';
const WRONG_SECRET = 'MZXW6YTBOI2DGNBVGY3TQOJQGF';
const BASE = 'http://10.170.23.1';
const ITER = 1000;

interface DeviceSession {
  verifier: Spake2PlusVerifier;
  opener?: RecordOpener;
  sealer?: RecordSealer;
}

interface FakeDeviceOptions {
  /** What hello answers as deviceId (a different device on the same address). */
  helloDeviceId?: string;
  /** Rewrite a reply before it is sent: (path, reply) → reply. */
  tamper?: (path: string, reply: Record<string, unknown>) => unknown;
  /** Plaintext reply override for an RPC call. */
  rpcReply?: (call: { id: unknown; method: string; params?: unknown }) => unknown;
  /** Milliseconds each request spends "on the wire" before the device handles it. */
  latencyMs?: () => number;
}

/** The device side of protocol.md "Secure session", built from the same shared/ functions. */
function fakeDevice(opts: FakeDeviceOptions = {}) {
  const record = makeVerifierRecord(SECRET, DEVICE, { iterations: ITER });
  const sessions = new Map<string, DeviceSession>();
  const log: { url: string; method: string; headers: Record<string, string>; body: unknown }[] = [];

  const session = (sid: string): DeviceSession => {
    const s = sessions.get(sid);
    if (!s) throw new AirliftError('SESSION_REQUIRED', 'Unknown session');
    return s;
  };

  const handlers: Record<string, (body: unknown) => Record<string, unknown>> = {
    [SESSION_HELLO_PATH]: (body) => {
      const req = parseOrThrow(helloRequestSchema, body, 'hello');
      const sid = toBase64Url(randomBytes(16));
      const nonce = randomBytes(32);
      const verifier = createVerifier({
        context: airliftContext(DEVICE, fromBase64Url(req.nonce), nonce),
        ...airliftIdentities(DEVICE),
        w0: record.w0,
        L: record.L,
      });
      sessions.set(sid, { verifier });
      return {
        sid,
        deviceId: opts.helloDeviceId ?? DEVICE,
        salt: toBase64Url(record.salt),
        iter: record.iterations,
        nonce: toBase64Url(nonce),
      };
    },
    [SESSION_PAKE1_PATH]: (body) => {
      const req = parseOrThrow(pake1RequestSchema, body, 'pake1');
      const { shareV, confirmV } = session(req.sid).verifier.respond(fromBase64Url(req.shareP));
      return { shareV: toBase64Url(shareV), confirmV: toBase64Url(confirmV) };
    },
    [SESSION_PAKE2_PATH]: (body) => {
      const req = parseOrThrow(pake2RequestSchema, body, 'pake2');
      const s = session(req.sid);
      const { s2d, d2s } = deriveSessionKeys(s.verifier.finish(fromBase64Url(req.confirmP)));
      s.opener = new RecordOpener(s2d, req.sid);
      s.sealer = new RecordSealer(d2s, req.sid);
      return { ok: true };
    },
    [RPC_PATH]: (body) => {
      const env = parseOrThrow(rpcEnvelopeSchema, body, 'rpc');
      const s = session(env.sid);
      if (!s.opener || !s.sealer) throw new AirliftError('SESSION_REQUIRED', 'Handshake not finished');
      const plain = s.opener.open(RPC_PATH, env.ctr, env.ct);
      const call = parseOrThrow(rpcCallSchema, JSON.parse(new TextDecoder().decode(plain)), 'call');
      let reply: unknown;
      if (opts.rpcReply) reply = opts.rpcReply(call);
      else if (call.method === 'test.echo') reply = { id: call.id, result: call.params ?? null };
      else
        reply = {
          id: call.id,
          error: { code: 'UNKNOWN_METHOD', message: `No method ${call.method}`, retryable: false },
        };
      return s.sealer.seal(RPC_PATH, utf8Encode(JSON.stringify(reply)));
    },
  };

  const fetchFn: FetchLike = async (url, init) => {
    const latency = opts.latencyMs?.() ?? 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const body: unknown = init.body === undefined ? undefined : JSON.parse(init.body);
    log.push({ url, method: init.method, headers: init.headers, body });
    const path = new URL(url).pathname;
    let status = 200;
    let reply: unknown;
    try {
      if (init.headers['Content-Type'] !== 'application/json') {
        throw new AirliftError('UNSUPPORTED_MEDIA_TYPE', 'JSON only');
      }
      const handler = handlers[path];
      if (!handler) throw new AirliftError('NOT_FOUND', 'No such path');
      const out = handler(body);
      reply = opts.tamper ? opts.tamper(path, out) : out;
    } catch (err) {
      const e = toAirliftError(err);
      status = e.status;
      reply = { error: e.toBody() };
    }
    return { status, json: () => Promise.resolve(reply) };
  };

  return { fetch: fetchFn, log, paths: () => log.map((r) => new URL(r.url).pathname) };
}

const secretsFor =
  (secret: string) =>
  (salt: Uint8Array, iterations: number): ProverSecrets =>
    deriveProverSecrets(secret, DEVICE, salt, iterations);

async function rejection(p: Promise<unknown>): Promise<AirliftError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AirliftError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('openSession', () => {
  it('accepts the global fetch as FetchLike (a compile-time check)', () => {
    const globalFetch: FetchLike = fetch;
    expect(typeof globalFetch).toBe('function');
  });

  it('happy path: hello → pake1 → pake2, then encrypted calls', async () => {
    const device = fakeDevice();
    const deriveSecrets = vi.fn(secretsFor(SECRET));
    const session = await openSession({
      baseUrl: `${BASE}/`,
      deviceId: DEVICE,
      deriveSecrets,
      fetch: device.fetch,
    });

    expect(device.paths()).toEqual([SESSION_HELLO_PATH, SESSION_PAKE1_PATH, SESSION_PAKE2_PATH]);
    expect(deriveSecrets).toHaveBeenCalledTimes(1);
    expect(deriveSecrets.mock.calls[0]?.[0]).toHaveLength(16);
    expect(deriveSecrets.mock.calls[0]?.[1]).toBe(ITER);
    expect(fromBase64Url(session.sid)).toHaveLength(16);
    expect(session.deviceId).toBe(DEVICE);

    await expect(session.callRaw('test.echo', { ssid: 'Café', n: [1, 2] })).resolves.toEqual({
      ssid: 'Café',
      n: [1, 2],
    });
    await expect(session.callRaw('test.echo')).resolves.toBeNull();
    for (const req of device.log) {
      expect(req.method).toBe('POST');
      expect(req.headers['Content-Type']).toBe('application/json');
      expect(req.url.startsWith(`${BASE}/v1/`)).toBe(true);
    }
    // Nothing readable on the wire.
    expect(JSON.stringify(device.log.at(-2)?.body)).not.toContain('Café');
  });

  it('concurrent calls are sent in order, so the device never sees a counter go back', async () => {
    // Each request is slower than the next: if calls overlapped, later counters would arrive first.
    let latency = 60;
    const device = fakeDevice({ latencyMs: () => (latency = Math.max(0, latency - 10)) });
    const session = await openSession({
      baseUrl: BASE,
      deviceId: DEVICE,
      deriveSecrets: secretsFor(SECRET),
      fetch: device.fetch,
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => session.callRaw('test.echo', i)));
    expect(results).toEqual([1, 2, 3, 4, 5]);
    const ctrs = device.log
      .filter((r) => r.url.endsWith(RPC_PATH))
      .map((r) => (r.body as { ctr: number }).ctr);
    expect(ctrs).toEqual([1, 2, 3, 4, 5]);
  });

  it('an error reply rejects with its code; a failed call does not break the session', async () => {
    const device = fakeDevice();
    const session = await openSession({
      baseUrl: BASE,
      deviceId: DEVICE,
      deriveSecrets: secretsFor(SECRET),
      fetch: device.fetch,
    });
    const err = await rejection(session.callRaw('no.such'));
    expect(err.code).toBe('UNKNOWN_METHOD');
    expect(err.message).toBe('No method no.such');
    await expect(session.callRaw('test.echo', 'still fine')).resolves.toBe('still fine');
  });

  it('wrong setup secret → AUTH_FAILED before confirmP is sent', async () => {
    const device = fakeDevice();
    const err = await rejection(
      openSession({
        baseUrl: BASE,
        deviceId: DEVICE,
        deriveSecrets: secretsFor(WRONG_SECRET),
        fetch: device.fetch,
      }),
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(device.paths()).toEqual([SESSION_HELLO_PATH, SESSION_PAKE1_PATH]);
  });

  it('another device answering hello → DEVICE_MISMATCH, nothing more sent', async () => {
    const device = fakeDevice({ helloDeviceId: 'ZZZZ2222' });
    const deriveSecrets = vi.fn(secretsFor(SECRET));
    const err = await rejection(
      openSession({ baseUrl: BASE, deviceId: DEVICE, deriveSecrets, fetch: device.fetch }),
    );
    expect(err.code).toBe('DEVICE_MISMATCH');
    expect(err.details).toEqual({ expected: DEVICE, actual: 'ZZZZ2222' });
    expect(deriveSecrets).not.toHaveBeenCalled();
    expect(device.paths()).toEqual([SESSION_HELLO_PATH]);
  });

  it('refuses an invalid device id before sending anything', async () => {
    const device = fakeDevice();
    const err = await rejection(
      openSession({
        baseUrl: BASE,
        deviceId: 'k7q2m6xa',
        deriveSecrets: secretsFor(SECRET),
        fetch: device.fetch,
      }),
    );
    expect(err.code).toBe('INVALID_DEVICE_ID');
    expect(device.log).toHaveLength(0);
  });

  describe('HTTP error bodies', () => {
    const failing =
      (status: number, body: unknown): FetchLike =>
      () =>
        Promise.resolve({ status, json: () => Promise.resolve(body) });
    const open = (fetchFn: FetchLike) =>
      rejection(
        openSession({ baseUrl: BASE, deviceId: DEVICE, deriveSecrets: secretsFor(SECRET), fetch: fetchFn }),
      );

    it('a known code becomes an AirliftError with that code, message, retryable and details', async () => {
      const err = await open(
        failing(429, {
          error: {
            code: 'RATE_LIMITED',
            message: 'Slow down',
            retryable: true,
            details: { retryAfterMs: 500 },
          },
        }),
      );
      expect(err.code).toBe('RATE_LIMITED');
      expect(err.message).toBe('Slow down');
      expect(err.retryable).toBe(true);
      expect(err.details).toEqual({ retryAfterMs: 500 });
      expect(
        (await open(failing(503, { error: { code: 'BUSY', message: 'Busy', retryable: true } }))).code,
      ).toBe('BUSY');
      expect((await open(failing(423, { error: { code: 'LOCKED_OUT', message: 'Locked' } }))).code).toBe(
        'LOCKED_OUT',
      );
    });

    it('an unknown code, a missing error body or non-JSON → PROTOCOL_ERROR', async () => {
      const unknown = await open(
        failing(400, { error: { code: 'SOMETHING_NEW', message: 'x', retryable: false } }),
      );
      expect(unknown.code).toBe('PROTOCOL_ERROR');
      expect(unknown.details).toMatchObject({ remoteCode: 'SOMETHING_NEW', status: 400 });
      expect((await open(failing(500, { oops: true }))).code).toBe('PROTOCOL_ERROR');
      expect((await open(failing(500, 'Internal Server Error'))).code).toBe('PROTOCOL_ERROR');
      const notJson: FetchLike = () =>
        Promise.resolve({ status: 502, json: () => Promise.reject(new SyntaxError('Unexpected token <')) });
      expect((await open(notJson)).code).toBe('PROTOCOL_ERROR');
    });

    it('a network failure → UNREACHABLE', async () => {
      const err = await open(() => Promise.reject(new TypeError('fetch failed')));
      expect(err.code).toBe('UNREACHABLE');
    });
  });

  describe('malformed replies → PROTOCOL_ERROR', () => {
    const cases: [string, string, (r: Record<string, unknown>) => unknown][] = [
      ['hello without salt', SESSION_HELLO_PATH, ({ salt: _salt, ...r }) => r],
      [
        'hello with a 31-byte nonce',
        SESSION_HELLO_PATH,
        (r) => ({ ...r, nonce: toBase64Url(new Uint8Array(31)) }),
      ],
      ['hello asking for 10 iterations', SESSION_HELLO_PATH, (r) => ({ ...r, iter: 10 })],
      ['hello asking for 10^9 iterations', SESSION_HELLO_PATH, (r) => ({ ...r, iter: 1e9 })],
      [
        'pake1 with a compressed-length share',
        SESSION_PAKE1_PATH,
        (r) => ({ ...r, shareV: toBase64Url(new Uint8Array(33)) }),
      ],
      ['pake1 with padded base64', SESSION_PAKE1_PATH, (r) => ({ ...r, confirmV: `${String(r.confirmV)}=` })],
      ['pake2 not ok', SESSION_PAKE2_PATH, () => ({ ok: false })],
      ['not an object', SESSION_PAKE2_PATH, () => null],
    ];
    for (const [name, path, edit] of cases) {
      it(name, async () => {
        const device = fakeDevice({ tamper: (p, r) => (p === path ? edit(r) : r) });
        const err = await rejection(
          openSession({
            baseUrl: BASE,
            deviceId: DEVICE,
            deriveSecrets: secretsFor(SECRET),
            fetch: device.fetch,
          }),
        );
        expect(err.code).toBe('PROTOCOL_ERROR');
      });
    }

    it('a shareV that is not a curve point → AUTH_FAILED', async () => {
      const notOnCurve = new Uint8Array(65).fill(1);
      notOnCurve[0] = 4;
      const device = fakeDevice({
        tamper: (p, r) => (p === SESSION_PAKE1_PATH ? { ...r, shareV: toBase64Url(notOnCurve) } : r),
      });
      const err = await rejection(
        openSession({
          baseUrl: BASE,
          deviceId: DEVICE,
          deriveSecrets: secretsFor(SECRET),
          fetch: device.fetch,
        }),
      );
      expect(err.code).toBe('AUTH_FAILED');
    });
  });

  describe('RPC replies that fail checks → PROTOCOL_ERROR', () => {
    async function sessionWith(opts: FakeDeviceOptions) {
      const device = fakeDevice(opts);
      return openSession({
        baseUrl: BASE,
        deviceId: DEVICE,
        deriveSecrets: secretsFor(SECRET),
        fetch: device.fetch,
      });
    }

    it('tampered ciphertext', async () => {
      const session = await sessionWith({
        tamper: (p, r) => {
          if (p !== RPC_PATH) return r;
          const ct = fromBase64Url(String(r.ct));
          ct[0] = (ct[0] ?? 0) ^ 1;
          return { ...r, ct: toBase64Url(ct) };
        },
      });
      expect((await rejection(session.callRaw('test.echo', 1))).code).toBe('PROTOCOL_ERROR');
    });

    it('a replayed reply', async () => {
      let first: unknown;
      const session = await sessionWith({
        tamper: (p, r) => {
          if (p !== RPC_PATH) return r;
          first ??= r;
          return first;
        },
      });
      await expect(session.callRaw('test.echo', 1)).resolves.toBe(1);
      expect((await rejection(session.callRaw('test.echo', 2))).code).toBe('PROTOCOL_ERROR');
    });

    it('a reply for another call id, or with both result and error', async () => {
      const wrongId = await sessionWith({ rpcReply: () => ({ id: 999, result: 1 }) });
      expect((await rejection(wrongId.callRaw('test.echo', 1))).code).toBe('PROTOCOL_ERROR');
      const both = await sessionWith({
        rpcReply: (c) => ({ id: c.id, result: 1, error: { code: 'INTERNAL', message: 'x' } }),
      });
      expect((await rejection(both.callRaw('test.echo', 1))).code).toBe('PROTOCOL_ERROR');
    });

    it('an error reply with an unknown code', async () => {
      const session = await sessionWith({
        rpcReply: (c) => ({ id: c.id, error: { code: 'NEWER_CODE', message: 'x' } }),
      });
      const err = await rejection(session.callRaw('test.echo', 1));
      expect(err.code).toBe('PROTOCOL_ERROR');
      expect(err.details).toMatchObject({ remoteCode: 'NEWER_CODE' });
    });
  });

  describe('typed calls (rpcParamsSchemas / rpcResultSchemas)', () => {
    async function answering(result: (call: { method: string; params?: unknown }) => unknown) {
      const device = fakeDevice({ rpcReply: (c) => ({ id: c.id, result: result(c) }) });
      const session = await openSession({
        baseUrl: BASE,
        deviceId: DEVICE,
        deriveSecrets: secretsFor(SECRET),
        fetch: device.fetch,
      });
      return { session, device };
    }

    it('resolves with the result as its schema reads it, params left out where none are needed', async () => {
      const calls: { method: string; params?: unknown }[] = [];
      const { session } = await answering((c) => {
        calls.push(c);
        return c.method === 'wifi.set'
          ? { attemptId: 'a1', apStaysUp: false, state: 'applying', added: 'by a later agent' }
          : { networks: [] };
      });
      const set = await session.call('wifi.set', {
        networks: [{ ssid: 'LabNet', passphrase: 'correct horse' }],
      });
      expectTypeOf(set).toEqualTypeOf<WifiSetResult>();
      expect(set).toEqual({ attemptId: 'a1', apStaysUp: false, state: 'applying' });
      await expect(session.call('wifi.list')).resolves.toEqual({ networks: [] });
      // Params go as given (the device applies defaults); none at all for a call without them.
      expect(calls).toEqual([
        {
          id: 1,
          method: 'wifi.set',
          params: { networks: [{ ssid: 'LabNet', passphrase: 'correct horse' }] },
        },
        { id: 2, method: 'wifi.list' },
      ]);
    });

    it("an answer that does not match the method's result schema → PROTOCOL_ERROR; the session goes on", async () => {
      const { session } = await answering((c) =>
        c.method === 'device.commit' ? { committed: 'yes' } : { ok: true },
      );
      const err = await rejection(session.call('device.commit', { nonce: '0123456789abcdef' }));
      expect(err.code).toBe('PROTOCOL_ERROR');
      expect(err.message).toMatch(/device\.commit result/);
      await expect(session.call('device.identify', { seconds: 3 })).resolves.toEqual({ ok: true });
      // callRaw hands on what came back, unchecked.
      await expect(session.callRaw('device.commit', {})).resolves.toEqual({ committed: 'yes' });
    });

    it('refuses a method outside the protocol at run time too (a JavaScript caller)', async () => {
      const { session, device } = await answering(() => null);
      const before = device.log.length;
      const untyped = session.call.bind(session) as (method: string) => Promise<unknown>;
      expect((await rejection(untyped('test.echo'))).code).toBe('BAD_REQUEST');
      expect((await rejection(untyped('toString'))).code).toBe('BAD_REQUEST');
      expect(device.log).toHaveLength(before);
    });

    it('types params and results by method (compile-time checks)', () => {
      type S = Awaited<ReturnType<typeof openSession>>;
      expectTypeOf<Awaited<ReturnType<S['call']>>>().not.toBeAny();
      // @ts-expect-error wifi.set needs its networks
      const missing = (s: S) => s.call('wifi.set');
      // @ts-expect-error not a method of the protocol
      const unknown = (s: S) => s.call('test.echo');
      // @ts-expect-error wifi.list takes no params
      const stray = (s: S) => s.call('wifi.list', { force: true });
      expect([missing, unknown, stray]).toHaveLength(3);
    });
  });

  it('refuses params that are not JSON and methods that are not method names', async () => {
    const device = fakeDevice();
    const session = await openSession({
      baseUrl: BASE,
      deviceId: DEVICE,
      deriveSecrets: secretsFor(SECRET),
      fetch: device.fetch,
    });
    expect((await rejection(session.callRaw('test.echo', { n: 1n }))).code).toBe('BAD_REQUEST');
    expect((await rejection(session.callRaw('Not A Method'))).code).toBe('BAD_REQUEST');
    await expect(session.callRaw('test.echo', 'ok')).resolves.toBe('ok');
  });

  it('an aborted signal stops the handshake', async () => {
    const device = fakeDevice();
    const controller = new AbortController();
    const deriveSecrets = (salt: Uint8Array, iterations: number) => {
      controller.abort(new Error('cancelled by user'));
      return deriveProverSecrets(SECRET, DEVICE, salt, iterations);
    };
    await expect(
      openSession({
        baseUrl: BASE,
        deviceId: DEVICE,
        deriveSecrets,
        fetch: device.fetch,
        signal: controller.signal,
      }),
    ).rejects.toThrow('cancelled by user');
    expect(device.paths()).toEqual([SESSION_HELLO_PATH]);
  });
});
