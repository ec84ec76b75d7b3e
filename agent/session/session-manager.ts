/**
 * The device side of the secure session: the SPAKE2+ handshake (one at a time, 60 s to finish),
 * established sessions and their record layers, and the persisted abuse limits.
 */
import { AirliftError } from '../../shared/errors';
import {
  fromBase64Url,
  fromHex,
  randomBytes,
  toBase64Url,
  utf8Encode,
  utf8DecodeStrict,
} from '../../shared/encoding';
import { parseOrThrow } from '../../shared/validate';
import { airliftContext, deriveSessionKeys, ID_PROVER } from '../../shared/crypto/airlift';
import { createVerifier } from '../../shared/crypto/spake2plus';
import { RecordOpener, RecordSealer } from '../../shared/crypto/record';
import {
  RPC_PATH,
  helloRequestSchema,
  pake1RequestSchema,
  pake2RequestSchema,
  rpcCallSchema,
  rpcEnvelopeSchema,
  type HelloResponse,
  type Pake1Response,
} from '../../shared/protocol/session';
import type { AbuseCounters, StoredIdentity } from '../ports/store';
import type { ClockPort, TimerHandle } from '../ports/clock';
import { assertMayAttempt, openWindow, recordFailure, recordSuccess, resetAll } from './abuse-limits';

export const HANDSHAKE_TIMEOUT_MS = 60_000;
export const SESSION_IDLE_MS = 10 * 60_000;
export const MAX_SESSIONS = 8;

interface Handshake {
  sid: string;
  context: Uint8Array;
  verifier?: ReturnType<typeof createVerifier>;
  stage: 'hello' | 'pake1';
  timer: TimerHandle;
}

interface Session {
  sid: string;
  opener: RecordOpener;
  sealer: RecordSealer;
  lastUsed: number;
}

export interface RpcRequestContext {
  sid: string;
}

export type RpcDispatcher = (method: string, params: unknown, ctx: RpcRequestContext) => Promise<unknown>;

export interface SessionManagerDeps {
  identity: () => StoredIdentity | undefined;
  counters: AbuseCounters;
  saveCounters: (c: AbuseCounters) => Promise<void>;
  clock: ClockPort;
  onEvent?: (
    event: 'handshake-ok' | 'handshake-failed' | 'rpc' | 'counters-not-saved',
    detail: Record<string, unknown>,
  ) => void;
}

export class SessionManager {
  private handshake?: Handshake;
  private readonly sessions = new Map<string, Session>();
  private counters: AbuseCounters;

  constructor(private readonly deps: SessionManagerDeps) {
    this.counters = deps.counters;
  }

  get limits(): AbuseCounters {
    return { ...this.counters };
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Time of the last use of any session, so the agent does not pull the AP from under a technician. */
  lastActivity(): number {
    let last = 0;
    for (const s of this.sessions.values()) last = Math.max(last, s.lastUsed);
    return last;
  }

  hello(body: unknown): HelloResponse {
    const req = parseOrThrow(helloRequestSchema, body, 'hello');
    const identity = this.requireIdentity();
    if (req.deviceId !== identity.deviceId) {
      throw new AirliftError('DEVICE_MISMATCH', `This device is ${identity.deviceId}, not ${req.deviceId}`);
    }
    assertMayAttempt(this.counters, this.deps.clock.now());
    // One handshake at a time. One that got past pake1 has been charged already, and a prover that
    // gave up on it (wrong secret) never sends pake2: a new hello may take its place.
    if (this.handshake?.stage === 'hello')
      throw new AirliftError('BUSY', 'Another handshake is in progress; retry shortly');
    if (this.handshake) this.endHandshake(this.handshake);
    const stationNonce = fromBase64Url(req.nonce);
    const deviceNonce = randomBytes(32);
    const sid = toBase64Url(randomBytes(16));
    const timer = this.deps.clock.setTimer(HANDSHAKE_TIMEOUT_MS, () => {
      if (this.handshake?.sid === sid) this.handshake = undefined;
    });
    this.handshake = {
      sid,
      context: airliftContext(identity.deviceId, stationNonce, deviceNonce),
      stage: 'hello',
      timer,
    };
    return {
      sid,
      deviceId: identity.deviceId,
      salt: toBase64Url(fromHex(identity.salt)),
      iter: identity.iterations,
      nonce: toBase64Url(deviceNonce),
    };
  }

  async pake1(body: unknown): Promise<Pake1Response> {
    const req = parseOrThrow(pake1RequestSchema, body, 'pake1');
    const hs = this.currentHandshake(req.sid, 'hello');
    const identity = this.requireIdentity();
    const verifier = createVerifier({
      context: hs.context,
      idProver: utf8Encode(ID_PROVER),
      idVerifier: utf8Encode(identity.deviceId),
      w0: fromHex(identity.w0),
      L: fromHex(identity.L),
    });
    // Charge the attempt before answering: this answer lets the prover test one guess of the secret.
    await this.setCounters(recordFailure(this.counters, this.deps.clock.now()));
    try {
      const { shareV, confirmV } = verifier.respond(fromBase64Url(req.shareP));
      hs.verifier = verifier;
      hs.stage = 'pake1';
      return { shareV: toBase64Url(shareV), confirmV: toBase64Url(confirmV) };
    } catch (err) {
      this.endHandshake(hs);
      this.deps.onEvent?.('handshake-failed', { stage: 'pake1' });
      throw err;
    }
  }

  pake2(body: unknown): { ok: true } {
    const req = parseOrThrow(pake2RequestSchema, body, 'pake2');
    const hs = this.currentHandshake(req.sid, 'pake1');
    const verifier = hs.verifier;
    if (!verifier) throw new AirliftError('SESSION_REQUIRED', 'Send pake1 first');
    let sharedKey: Uint8Array;
    try {
      sharedKey = verifier.finish(fromBase64Url(req.confirmP));
    } catch (err) {
      this.endHandshake(hs);
      this.deps.onEvent?.('handshake-failed', {
        stage: 'pake2',
        failures: this.counters.consecutiveFailures,
      });
      throw err instanceof AirliftError ? err : new AirliftError('AUTH_FAILED', 'Key confirmation failed');
    }
    this.endHandshake(hs);
    const keys = deriveSessionKeys(sharedKey);
    this.evictIfFull();
    this.sessions.set(hs.sid, {
      sid: hs.sid,
      opener: new RecordOpener(keys.s2d, hs.sid),
      sealer: new RecordSealer(keys.d2s, hs.sid),
      lastUsed: this.deps.clock.now(),
    });
    // The refund is persisted in order behind the answer: the charge at pake1 already protects
    // against guessing, and an SD card's fsync should not sit on every session's critical path.
    this.setCounters(recordSuccess(this.counters)).catch((err: unknown) =>
      this.deps.onEvent?.('counters-not-saved', { error: String(err) }),
    );
    this.deps.onEvent?.('handshake-ok', { sid: hs.sid });
    return { ok: true };
  }

  /** Open an RPC envelope, run it, and seal the answer (errors included) for the same session. */
  async rpc(body: unknown, dispatch: RpcDispatcher): Promise<{ ctr: number; ct: string }> {
    const env = parseOrThrow(rpcEnvelopeSchema, body, 'rpc envelope');
    const session = this.sessions.get(env.sid);
    if (!session) throw new AirliftError('SESSION_REQUIRED', 'Unknown or closed session; run the handshake');
    const now = this.deps.clock.now();
    if (now - session.lastUsed > SESSION_IDLE_MS) {
      this.sessions.delete(env.sid);
      throw new AirliftError('SESSION_EXPIRED', 'Session expired; run the handshake again');
    }
    const plaintext = session.opener.open(RPC_PATH, env.ctr, env.ct);
    session.lastUsed = now;
    const text = utf8DecodeStrict(plaintext);
    let call: { id: string | number; method: string; params?: unknown } | undefined;
    let reply: unknown;
    try {
      if (text === undefined) throw new AirliftError('BAD_REQUEST', 'RPC payload is not UTF-8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new AirliftError('BAD_REQUEST', 'RPC payload is not JSON');
      }
      call = parseOrThrow(rpcCallSchema, json, 'rpc call');
      const result = await dispatch(call.method, call.params, { sid: env.sid });
      reply = { id: call.id, result: result ?? null };
    } catch (err) {
      const e = err instanceof AirliftError ? err : new AirliftError('INTERNAL', 'Internal error');
      reply = { id: call?.id ?? null, error: e.toBody() };
    }
    this.deps.onEvent?.('rpc', { method: call?.method });
    return session.sealer.seal(RPC_PATH, utf8Encode(JSON.stringify(reply)));
  }

  /** Setup opened anew: a fresh window of 20 attempts. */
  async openSetupWindow(): Promise<void> {
    if (this.counters.windowFailures > 0) await this.setCounters(openWindow(this.counters));
  }

  /** Local reset (airliftctl reset-lockout). */
  async resetLimits(): Promise<void> {
    await this.setCounters(resetAll());
  }

  closeAll(): void {
    this.sessions.clear();
    if (this.handshake) this.endHandshake(this.handshake);
  }

  private requireIdentity(): StoredIdentity {
    const identity = this.deps.identity();
    if (!identity) {
      throw new AirliftError(
        'NOT_PROVISIONED',
        'This device has no identity yet (airliftctl provision-identity)',
      );
    }
    return identity;
  }

  private currentHandshake(sid: string, stage: Handshake['stage']): Handshake {
    const hs = this.handshake;
    if (!hs || hs.sid !== sid) {
      throw new AirliftError(
        'SESSION_REQUIRED',
        'No handshake in progress with this sid (it may have timed out)',
      );
    }
    if (hs.stage !== stage)
      throw new AirliftError('BAD_REQUEST', `Handshake step out of order (at ${hs.stage})`);
    return hs;
  }

  private endHandshake(hs: Handshake): void {
    hs.timer.cancel();
    if (this.handshake === hs) this.handshake = undefined;
  }

  private evictIfFull(): void {
    const now = this.deps.clock.now();
    for (const [sid, s] of this.sessions) if (now - s.lastUsed > SESSION_IDLE_MS) this.sessions.delete(sid);
    while (this.sessions.size >= MAX_SESSIONS) {
      let oldest: Session | undefined;
      for (const s of this.sessions.values()) if (!oldest || s.lastUsed < oldest.lastUsed) oldest = s;
      if (!oldest) break;
      this.sessions.delete(oldest.sid);
    }
  }

  private async setCounters(c: AbuseCounters): Promise<void> {
    this.counters = c;
    await this.deps.saveCounters(c);
  }
}
