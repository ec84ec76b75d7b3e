/**
 * The device side of the secure session: the SPAKE2+ handshake, established sessions and their
 * record layers, and the persisted abuse limits.
 *
 * A `hello` costs the device nothing and reserves nothing scarce: it adds one entry to a small set
 * of pending handshakes (the busiest client's oldest gives way when the set is full). The scarce
 * things are behind `pake1`, which is charged: one pake1 is answered at a time, and at most one
 * handshake past pake1 waits for its pake2 ("one handshake at a time", protocol.md).
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
import type { LimitsStatus } from '../../shared/protocol/api';
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
import {
  assertMayAttempt,
  limitsStatus,
  openWindow,
  recordFailure,
  recordSuccess,
  resetAll,
} from './abuse-limits';

/** From hello to pake2. */
export const HANDSHAKE_TIMEOUT_MS = 60_000;
export const SESSION_IDLE_MS = 10 * 60_000;
export const MAX_SESSIONS = 8;
/** Hellos waiting for their pake1. */
export const MAX_PENDING_HELLOS = 8;
/** Suggested wait for a pake1 refused because another one is being answered. */
export const PAKE1_BUSY_RETRY_MS = 200;

/** Who sent a hello, as far as the transport can tell (the remote address). */
export type Peer = string;

interface PendingHello {
  sid: string;
  peer: Peer;
  context: Uint8Array;
  timer: TimerHandle;
}

/** The one handshake past pake1: being answered (charge and verifier) or waiting for pake2. */
interface ActiveHandshake extends PendingHello {
  stage: 'answering' | 'answered';
  verifier?: ReturnType<typeof createVerifier>;
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
  /** In arrival order: the first entry of a peer is its oldest. */
  private readonly pending = new Map<string, PendingHello>();
  private active: ActiveHandshake | undefined;
  private readonly sessions = new Map<string, Session>();
  private counters: AbuseCounters;

  constructor(private readonly deps: SessionManagerDeps) {
    this.counters = deps.counters;
  }

  get limits(): AbuseCounters {
    return { ...this.counters };
  }

  /** The limits as the owner should see them (`/v1/status`, the control socket). */
  limitsStatus(): LimitsStatus {
    return limitsStatus(this.counters, this.deps.clock.now());
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

  /** Free for the client and cheap for the device: nothing is charged and nothing is held but a slot. */
  hello(body: unknown, peer: Peer = 'unknown'): HelloResponse {
    const req = parseOrThrow(helloRequestSchema, body, 'hello');
    const identity = this.requireIdentity();
    if (req.deviceId !== identity.deviceId) {
      throw new AirliftError('DEVICE_MISMATCH', `This device is ${identity.deviceId}, not ${req.deviceId}`);
    }
    // Not needed for safety (pake1 checks again), but tells a station at once why it cannot proceed.
    assertMayAttempt(this.counters, this.deps.clock.now());
    this.makeRoomForHello();
    const stationNonce = fromBase64Url(req.nonce);
    const deviceNonce = randomBytes(32);
    const sid = toBase64Url(randomBytes(16));
    this.pending.set(sid, {
      sid,
      peer,
      context: airliftContext(identity.deviceId, stationNonce, deviceNonce),
      timer: this.deps.clock.setTimer(HANDSHAKE_TIMEOUT_MS, () => this.expire(sid)),
    });
    return {
      sid,
      deviceId: identity.deviceId,
      salt: toBase64Url(fromHex(identity.salt)),
      iter: identity.iterations,
      nonce: toBase64Url(deviceNonce),
    };
  }

  /**
   * Each answer lets the prover test one guess of the secret, so it is charged before it is given.
   * Everything up to the claim of the handshake runs before the first await: concurrent copies of
   * one pake1 find it taken, and the limits are checked against every charge made before this one.
   */
  async pake1(body: unknown): Promise<Pake1Response> {
    const req = parseOrThrow(pake1RequestSchema, body, 'pake1');
    const identity = this.requireIdentity();
    const hs = this.claimForPake1(req.sid);
    try {
      const verifier = createVerifier({
        context: hs.context,
        idProver: utf8Encode(ID_PROVER),
        idVerifier: utf8Encode(identity.deviceId),
        w0: fromHex(identity.w0),
        L: fromHex(identity.L),
      });
      await this.setCounters(recordFailure(this.counters, this.deps.clock.now()));
      if (this.active !== hs) {
        throw new AirliftError('SESSION_REQUIRED', 'The handshake timed out or was closed; start again');
      }
      const { shareV, confirmV } = verifier.respond(fromBase64Url(req.shareP));
      hs.verifier = verifier;
      hs.stage = 'answered';
      return { shareV: toBase64Url(shareV), confirmV: toBase64Url(confirmV) };
    } catch (err) {
      this.endActive(hs);
      this.deps.onEvent?.('handshake-failed', { stage: 'pake1' });
      throw err;
    }
  }

  pake2(body: unknown): { ok: true } {
    const req = parseOrThrow(pake2RequestSchema, body, 'pake2');
    const hs = this.answeredHandshake(req.sid);
    const verifier = hs.verifier;
    if (!verifier) throw new AirliftError('SESSION_REQUIRED', 'Send pake1 first');
    let sharedKey: Uint8Array;
    try {
      sharedKey = verifier.finish(fromBase64Url(req.confirmP));
    } catch (err) {
      this.endActive(hs);
      this.deps.onEvent?.('handshake-failed', {
        stage: 'pake2',
        failures: this.counters.consecutiveFailures,
      });
      throw err instanceof AirliftError ? err : new AirliftError('AUTH_FAILED', 'Key confirmation failed');
    }
    this.endActive(hs);
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
    for (const p of this.pending.values()) p.timer.cancel();
    this.pending.clear();
    if (this.active) this.endActive(this.active);
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

  /**
   * Synchronous from lookup to claim, so two copies of one pake1 can never both pass. Refuses a
   * handshake already past pake1, limits reached since its hello, and a second pake1 while one is
   * being answered (one verifier computation and one charge at a time).
   */
  private claimForPake1(sid: string): ActiveHandshake {
    const hello = this.pending.get(sid);
    if (!hello) {
      if (this.active?.sid === sid)
        throw new AirliftError('BAD_REQUEST', 'pake1 was already sent for this handshake');
      throw new AirliftError(
        'SESSION_REQUIRED',
        'No handshake waits for pake1 with this sid (it may have timed out or given way); send hello again',
      );
    }
    assertMayAttempt(this.counters, this.deps.clock.now());
    if (this.active?.stage === 'answering') {
      throw new AirliftError('BUSY', 'Another handshake is being answered; retry shortly', {
        retryAfterMs: PAKE1_BUSY_RETRY_MS,
      });
    }
    // One handshake past pake1 at a time: an older one was charged already and its prover may have
    // given up (a wrong secret never sends pake2), so the newer one takes its place.
    if (this.active) this.endActive(this.active);
    this.pending.delete(sid);
    this.active = { ...hello, stage: 'answering' };
    return this.active;
  }

  private answeredHandshake(sid: string): ActiveHandshake {
    const hs = this.active;
    if (hs?.sid === sid && hs.stage === 'answered') return hs;
    if (hs?.sid === sid || this.pending.has(sid))
      throw new AirliftError('BAD_REQUEST', 'Handshake step out of order: pake1 has not been answered');
    throw new AirliftError(
      'SESSION_REQUIRED',
      'No handshake in progress with this sid (it may have timed out or been replaced)',
    );
  }

  /** A full set gives up the oldest hello of the client holding the most, so one client cannot push out another. */
  private makeRoomForHello(): void {
    if (this.pending.size < MAX_PENDING_HELLOS) return;
    const held = new Map<Peer, { count: number; oldest: PendingHello }>();
    for (const p of this.pending.values()) {
      const h = held.get(p.peer);
      if (h) h.count++;
      else held.set(p.peer, { count: 1, oldest: p });
    }
    let victim: { count: number; oldest: PendingHello } | undefined;
    // Ties go to the peer seen first, whose oldest hello is the oldest of all of them.
    for (const h of held.values()) if (!victim || h.count > victim.count) victim = h;
    if (victim) this.dropPending(victim.oldest);
  }

  private dropPending(p: PendingHello): void {
    p.timer.cancel();
    this.pending.delete(p.sid);
  }

  private expire(sid: string): void {
    const p = this.pending.get(sid);
    if (p) this.dropPending(p);
    if (this.active?.sid === sid) this.endActive(this.active);
  }

  private endActive(hs: ActiveHandshake): void {
    hs.timer.cancel();
    if (this.active === hs) this.active = undefined;
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

  /** Counter writes not yet on disk (the refund after pake2 is not awaited by its caller). */
  private readonly saving = new Set<Promise<void>>();

  private async setCounters(c: AbuseCounters): Promise<void> {
    this.counters = c;
    const write = this.deps.saveCounters(c);
    this.saving.add(write);
    try {
      await write;
    } finally {
      this.saving.delete(write);
    }
  }

  /** Resolves when every counter write started so far has landed (before the store closes). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.saving]);
  }
}
