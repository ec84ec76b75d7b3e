/** The radio actor: typed commands, one at a time and in order, a failure that never blocks the queue. */
import { describe, expect, it } from 'vitest';
import { RadioActor } from '../../../../agent/core/radio-actor';
import type {
  JoinOutcome,
  RadioCapabilities,
  RadioPort,
  RadioStatus,
  SetupApConfig,
} from '../../../../agent/ports/radio';
import type { ScanResult } from '../../../../shared/protocol/wifi';

const AP: SetupApConfig = {
  ssid: 'Airlift-K7Q2M6XA',
  address: '10.171.23.1',
  prefixLength: 24,
  dhcpRange: { start: '10.171.23.10', end: '10.171.23.250' },
  channel: 6,
};
const STATUS: RadioStatus = {
  wifi: { up: false },
  ethernet: { up: false },
  cellular: { up: false },
  ap: { up: false, clients: 0 },
};
const CAPS: RadioCapabilities = {
  concurrentApSta: false,
  security: ['open'],
  bands: ['2.4GHz'],
  ethernet: false,
  cellular: false,
};

/** A port whose operations finish only when the test says so; it fails if two ever overlap. */
class GatedRadio implements RadioPort {
  readonly log: string[] = [];
  private running = 0;
  private readonly gates: (() => void)[] = [];
  failNext: string | undefined;

  private op<T>(name: string, value: T): Promise<T> {
    this.log.push(`${name}:start`);
    this.running++;
    if (this.running > 1) throw new Error(`${name} overlapped another operation`);
    return new Promise<T>((resolve, reject) => {
      this.gates.push(() => {
        this.running--;
        this.log.push(`${name}:end`);
        if (this.failNext === name) {
          this.failNext = undefined;
          reject(new Error(`${name} failed`));
        } else resolve(value);
      });
    });
  }
  /** Finish the operation in flight. */
  release(): void {
    this.gates.shift()?.();
  }
  get waiting(): number {
    return this.gates.length;
  }
  capabilities() {
    return this.op('capabilities', CAPS);
  }
  scan() {
    return this.op<ScanResult[]>('scan', []);
  }
  join(): Promise<JoinOutcome> {
    return this.op<JoinOutcome>('join', { ok: false, reason: 'ssid_not_found' });
  }
  leave() {
    return this.op('leave', undefined);
  }
  startAp(config: SetupApConfig) {
    return this.op(`startAp(${config.channel})`, undefined);
  }
  stopAp() {
    return this.op('stopAp', undefined);
  }
  status() {
    return this.op('status', STATUS);
  }
  close() {
    return this.op('close', undefined);
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function drain(radio: GatedRadio, until: Promise<unknown>): Promise<void> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    await tick();
    radio.release();
  }
}

describe('RadioActor', () => {
  it('runs commands one at a time, in the order they were sent, and answers each with its own reply', async () => {
    const radio = new GatedRadio();
    const actor = new RadioActor(radio);
    const replies = Promise.all([
      actor.send({ kind: 'startAp', config: AP }),
      actor.send({
        kind: 'join',
        target: { ssidHex: '4c61624e6574', security: 'open', hidden: false },
        options: { timeoutMs: 1000, keepAp: true },
      }),
      actor.send({ kind: 'status' }),
      actor.send({ kind: 'capabilities' }),
      actor.send({ kind: 'stopAp' }),
    ]);
    expect(actor.depth).toBe(5);
    await tick();
    expect(radio.log).toEqual(['startAp(6):start']);
    await drain(radio, replies);
    const [started, joined, status, caps, stopped] = await replies;
    expect(started).toBeUndefined();
    expect(joined).toEqual({ ok: false, reason: 'ssid_not_found' });
    expect(status).toEqual(STATUS);
    expect(caps).toEqual(CAPS);
    expect(stopped).toBeUndefined();
    expect(radio.log).toEqual(
      ['startAp(6)', 'join', 'status', 'capabilities', 'stopAp'].flatMap((n) => [`${n}:start`, `${n}:end`]),
    );
    expect(actor.depth).toBe(0);
  });

  it('a command that fails answers its sender only; the next one runs', async () => {
    const radio = new GatedRadio();
    const actor = new RadioActor(radio);
    radio.failNext = 'stopAp';
    const stop = actor.send({ kind: 'stopAp' });
    const scan = actor.send({ kind: 'scan' });
    const both = Promise.allSettled([stop, scan]);
    await drain(radio, both);
    const [s, r] = await both;
    expect(s).toMatchObject({ status: 'rejected', reason: { message: 'stopAp failed' } });
    expect(r).toEqual({ status: 'fulfilled', value: [] });
  });

  it('scans are cached for a while unless forced', async () => {
    let now = 0;
    const radio = new GatedRadio();
    const actor = new RadioActor(radio, () => now, 10_000);
    const first = actor.scan();
    await drain(radio, first);
    now = 9_999;
    await expect(actor.scan()).resolves.toEqual([]);
    expect(radio.log.filter((l) => l === 'scan:start')).toHaveLength(1);
    const forced = actor.scan(true);
    await drain(radio, forced);
    now = 30_000;
    const aged = actor.scan(false, 60_000);
    await expect(aged).resolves.toEqual([]);
    expect(radio.log.filter((l) => l === 'scan:start')).toHaveLength(2);
  });

  it('after close every command is refused, without reaching the radio', async () => {
    const radio = new GatedRadio();
    const actor = new RadioActor(radio);
    const closed = actor.send({ kind: 'close' });
    await drain(radio, closed);
    await expect(actor.send({ kind: 'status' })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(radio.waiting).toBe(0);
    expect(radio.log).toEqual(['close:start', 'close:end']);
  });
});
