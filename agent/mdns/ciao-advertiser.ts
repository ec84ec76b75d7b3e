/**
 * Embedded mDNS responder for devices without avahi-daemon, on @homebridge/ciao (RFC 6762/6763
 * conformant, passes Apple's Bonjour Conformance Test; docs/decisions/0003).
 *
 * ciao only binds the interfaces it considers primary (those sharing the default route's subnet)
 * unless given a list, so a setup AP interface (no default route) would be silent: pass
 * `Advertisement.interfaces` whenever the agent knows them. ciao answers each interface with that
 * interface's own addresses (protocol.md: "advertise only addresses of the interface").
 */
import {
  getResponder as ciaoGetResponder,
  type MDNSServerOptions,
  type ServiceOptions,
} from '@homebridge/ciao';
import { AirliftError } from '../../shared/errors';
import { SERVICE_TYPE, advertisementSchema, txtRecordSchema } from '../../shared/protocol/mdns';
import { parseOrThrow } from '../../shared/validate';
import type { Advertisement, AdvertiserPort } from '../ports/advertiser';
import { systemClock, type ClockPort, type TimerHandle } from '../ports/clock';

/** The part of ciao's CiaoService we use (lets unit tests substitute a fake). */
export interface CiaoServiceLike {
  advertise(): Promise<void>;
  updateTxt(txt: Record<string, string>): void;
  end(): Promise<void>;
  destroy(): Promise<void>;
  on(event: 'name-change' | 'hostname-change', listener: (name: string) => void): unknown;
}

/** The part of ciao's Responder we use. */
export interface CiaoResponderLike {
  createService(options: ServiceOptions): CiaoServiceLike;
  /** Must be called exactly once per getResponder() call (ciao reference-counts responders). */
  shutdown(): Promise<void>;
}

export interface CiaoAdvertiserOptions {
  /** Replaces ciao's getResponder (tests). */
  getResponder?: (options: MDNSServerOptions | undefined) => CiaoResponderLike;
  clock?: ClockPort;
  /**
   * ciao retries failed probes every 2 s forever and conflict renaming may take up to a minute, so
   * start() gives up after this long instead of hanging the agent (default 30 s).
   */
  startTimeoutMs?: number;
  /**
   * RFC 6762 §8.4: changed records are announced like new ones, at least twice, one second apart.
   * ciao sends a TXT change once, so we repeat it after this delay (default 1000 ms; 0 disables).
   */
  txtRepeatMs?: number;
  /** ciao renamed the service or host after a conflict on the network (RFC 6762 §9). */
  onRename?: (what: 'instance' | 'hostname', name: string) => void;
}

/** `_airlift._tcp` → ciao's `type: 'airlift'` (ciao adds the underscore and `_tcp`). */
const CIAO_TYPE = SERVICE_TYPE.split('.')[0]?.slice(1) ?? '';

type State = 'idle' | 'starting' | 'running' | 'stopping';

export class CiaoAdvertiser implements AdvertiserPort {
  readonly kind = 'embedded' as const;

  private readonly getResponder: (options: MDNSServerOptions | undefined) => CiaoResponderLike;
  private readonly clock: ClockPort;
  private readonly startTimeoutMs: number;
  private readonly txtRepeatMs: number;
  private readonly onRename: CiaoAdvertiserOptions['onRename'];

  private state: State = 'idle';
  /** Bumped by stop(): a start() or timer from before it is stale. */
  private generation = 0;
  private responder: CiaoResponderLike | undefined;
  private service: CiaoServiceLike | undefined;
  private instance = '';
  private repeatTimer: TimerHandle | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: CiaoAdvertiserOptions = {}) {
    this.getResponder = options.getResponder ?? ((o) => ciaoGetResponder(o));
    this.clock = options.clock ?? systemClock;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.txtRepeatMs = options.txtRepeatMs ?? 1000;
    this.onRename = options.onRename;
  }

  async start(ad: Advertisement): Promise<void> {
    if (this.state !== 'idle') {
      throw new AirliftError('INTERNAL', `Embedded mDNS advertiser is already ${this.state}; stop it first`);
    }
    const checked = parseOrThrow(advertisementSchema, ad, 'mDNS advertisement');
    const generation = this.generation;
    const where = checked.interfaces ? `on ${checked.interfaces.join(', ')}` : 'on the primary interfaces';
    this.state = 'starting';
    this.instance = checked.instance;

    try {
      // Shared per options by ciao; stop() releases our reference with shutdown().
      this.responder = this.getResponder(
        checked.interfaces ? { interface: [...checked.interfaces] } : undefined,
      );
      this.service = this.responder.createService({
        name: checked.instance,
        type: CIAO_TYPE,
        hostname: checked.hostname,
        port: checked.port,
        txt: { ...checked.txt },
      });
    } catch (err) {
      await this.teardown().catch(() => undefined);
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `Embedded mDNS responder could not be created ${where}: ${describe(err)}`,
        undefined,
        {
          cause: err,
        },
      );
    }
    this.service.on('name-change', (name) => this.onRename?.('instance', name));
    this.service.on('hostname-change', (name) => this.onRename?.('hostname', name));

    try {
      await this.withTimeout(this.service.advertise(), generation);
    } catch (err) {
      if (generation !== this.generation) return; // stop() won the race and cleaned up
      // The original error says more than a failed goodbye for a service that never went out.
      await this.teardown().catch(() => undefined);
      if (err instanceof AirliftError) throw err;
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `Embedded mDNS responder could not advertise "${checked.instance}" ${where}: ${describe(err)}`,
        undefined,
        {
          cause: err,
        },
      );
    }
    if (generation !== this.generation) return;
    this.state = 'running';
  }

  // The port's contract is a Promise; ciao's update is synchronous (debounced 50 ms inside ciao).
  // eslint-disable-next-line @typescript-eslint/require-await
  async updateTxt(txt: Record<string, string>): Promise<void> {
    const service = this.service;
    if ((this.state !== 'running' && this.state !== 'starting') || !service) {
      throw new AirliftError(
        'INTERNAL',
        'Embedded mDNS advertiser is not started: call start() before updateTxt()',
      );
    }
    const checked = parseOrThrow(txtRecordSchema, txt, 'mDNS TXT record');
    this.applyTxt(service, checked);
    this.repeatTimer?.cancel();
    this.repeatTimer = undefined;
    if (this.txtRepeatMs > 0) {
      const generation = this.generation;
      this.repeatTimer = this.clock.setTimer(this.txtRepeatMs, () => {
        this.repeatTimer = undefined;
        if (generation === this.generation && this.service === service) {
          try {
            this.applyTxt(service, checked);
          } catch {
            // The first announcement went out; a failed repeat only delays caches by one query.
          }
        }
      });
    }
  }

  /** Goodbyes (TTL 0) for our records, then release the sockets. Safe to call twice or while starting. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.state === 'idle') return Promise.resolve();
    this.stopping = this.teardown().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private applyTxt(service: CiaoServiceLike, txt: Record<string, string>): void {
    try {
      service.updateTxt({ ...txt });
    } catch (err) {
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `Embedded mDNS responder could not update the TXT record of "${this.instance}": ${describe(err)}`,
        undefined,
        {
          cause: err,
        },
      );
    }
  }

  private async teardown(): Promise<void> {
    this.generation++;
    this.repeatTimer?.cancel();
    this.repeatTimer = undefined;
    const { responder, service } = this;
    this.responder = undefined;
    this.service = undefined;
    this.state = 'stopping';
    let failure: unknown;
    try {
      // end() resolves once the goodbye packets are sent (or cancels probing).
      if (service) await service.end();
    } catch (err) {
      failure = err;
    }
    try {
      if (service) await service.destroy();
    } catch (err) {
      failure ??= err;
    }
    try {
      // Always release the responder, even when the goodbye failed, or its sockets stay bound.
      if (responder) await responder.shutdown();
    } catch (err) {
      failure ??= err;
    }
    this.state = 'idle';
    if (failure !== undefined) {
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `Embedded mDNS responder did not stop cleanly for "${this.instance}": ${describe(failure)}`,
        undefined,
        {
          cause: failure,
        },
      );
    }
  }

  private withTimeout(promise: Promise<void>, generation: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimer(this.startTimeoutMs, () => {
        // stop() during start: ciao may never settle a cancelled probe; start() just ends.
        if (generation !== this.generation) {
          resolve();
          return;
        }
        reject(
          new AirliftError(
            'TIMEOUT',
            `Embedded mDNS responder did not finish probing "${this.instance}" within ${this.startTimeoutMs} ms`,
          ),
        );
      });
      promise.then(
        () => {
          timer.cancel();
          resolve();
        },
        (err: unknown) => {
          timer.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
