/**
 * Embedded mDNS responder for devices without avahi-daemon, on @homebridge/ciao (RFC 6762/6763
 * conformant, passes Apple's Bonjour Conformance Test; docs/decisions/0003).
 *
 * ciao only binds the interfaces it considers primary (those sharing the default route's subnet)
 * unless given a list, so a setup AP interface (no default route) would be silent: pass
 * `Advertisement.interfaces` whenever the agent knows them. ciao answers each interface with that
 * interface's own addresses (protocol.md: "advertise only addresses of the interface").
 *
 * ciao re-reads the host's interfaces only every 15 s (running `ip` through a shell each time), so a
 * new DHCP lease would go unannounced that long and the station would look for the device at its
 * old address. We read the advertised links' addresses ourselves (getifaddrs: no process) once a
 * second and, when they change, advertise again on a fresh responder: it reads the interfaces anew,
 * says goodbye for the old address and announces the new one.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
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
  /** How often the advertised links' addresses are read (default 1000 ms; 0: never, ciao's 15 s). */
  addressPollMs?: number;
  /** Replaces os.networkInterfaces (tests). */
  readInterfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Advertising again for new addresses, and how it went. */
  log?: ((level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void) | undefined;
}

/**
 * The addresses ciao would advertise, as one comparable string: those of the given links, or of
 * every non-loopback link when none are given.
 */
export function linkAddresses(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  only: readonly string[] | undefined,
): string {
  const found: string[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    if (only && !only.includes(name)) continue;
    for (const info of infos ?? []) if (!info.internal) found.push(`${name}=${info.address}`);
  }
  return found.sort().join(' ');
}

/** `_airlift._tcp` → ciao's `type: 'airlift'` (ciao adds the underscore and `_tcp`). */
const CIAO_TYPE = SERVICE_TYPE.split('.')[0]?.slice(1) ?? '';

/** After a failed advertisement for new addresses, the next try. */
const RETRY_MS = 5000;

type State = 'idle' | 'starting' | 'running' | 'stopping';

export class CiaoAdvertiser implements AdvertiserPort {
  readonly kind = 'embedded' as const;

  private readonly getResponder: (options: MDNSServerOptions | undefined) => CiaoResponderLike;
  private readonly clock: ClockPort;
  private readonly startTimeoutMs: number;
  private readonly txtRepeatMs: number;
  private readonly onRename: CiaoAdvertiserOptions['onRename'];
  private readonly addressPollMs: number;
  private readonly readInterfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  private readonly log: CiaoAdvertiserOptions['log'];

  private state: State = 'idle';
  /** Bumped by stop(): a start() or timer from before it is stale. */
  private generation = 0;
  private responder: CiaoResponderLike | undefined;
  private service: CiaoServiceLike | undefined;
  private instance = '';
  private repeatTimer: TimerHandle | undefined;
  private stopping: Promise<void> | undefined;
  /** What is advertised now: the latest TXT and any name ciao chose after a conflict. */
  private current: Advertisement | undefined;
  /** The advertised links' addresses when the responder was made. */
  private addresses = '';
  private pollTimer: TimerHandle | undefined;
  private readvertising: Promise<void> | undefined;

  constructor(options: CiaoAdvertiserOptions = {}) {
    this.getResponder = options.getResponder ?? ((o) => ciaoGetResponder(o));
    this.clock = options.clock ?? systemClock;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.txtRepeatMs = options.txtRepeatMs ?? 1000;
    this.onRename = options.onRename;
    this.addressPollMs = options.addressPollMs ?? 1000;
    this.readInterfaces = options.readInterfaces ?? networkInterfaces;
    this.log = options.log;
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
    this.current = {
      instance: checked.instance,
      hostname: checked.hostname,
      port: checked.port,
      txt: { ...checked.txt },
      ...(checked.interfaces ? { interfaces: [...checked.interfaces] } : {}),
    };
    this.addresses = linkAddresses(this.readInterfaces(), checked.interfaces);

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
    this.service.on('name-change', (name) => {
      if (this.current) this.current.instance = name;
      this.onRename?.('instance', name);
    });
    this.service.on('hostname-change', (name) => {
      if (this.current) this.current.hostname = name;
      this.onRename?.('hostname', name);
    });

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
    this.schedulePoll(generation);
  }

  // The port's contract is a Promise; ciao's update is synchronous (debounced 50 ms inside ciao).
  // eslint-disable-next-line @typescript-eslint/require-await
  async updateTxt(txt: Record<string, string>): Promise<void> {
    const service = this.service;
    if (this.readvertising && this.current && !service) {
      // Between two responders: the next one starts with this TXT.
      this.current.txt = { ...parseOrThrow(txtRecordSchema, txt, 'mDNS TXT record') };
      return;
    }
    if ((this.state !== 'running' && this.state !== 'starting') || !service) {
      throw new AirliftError(
        'INTERNAL',
        'Embedded mDNS advertiser is not started: call start() before updateTxt()',
      );
    }
    const checked = parseOrThrow(txtRecordSchema, txt, 'mDNS TXT record');
    this.applyTxt(service, checked);
    if (this.current) this.current.txt = { ...checked };
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
    this.current = undefined; // also tells a readvertise in flight not to start again
    if (this.stopping) return this.stopping;
    const readvertising = this.readvertising;
    if (this.state === 'idle' && !readvertising) return Promise.resolve();
    this.stopping = (async () => {
      await readvertising;
      if (this.state !== 'idle') await this.teardown();
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private schedulePoll(generation: number): void {
    if (this.addressPollMs <= 0) return;
    this.pollTimer = this.clock.setTimer(this.addressPollMs, () => {
      this.pollTimer = undefined;
      if (generation !== this.generation || this.state !== 'running' || !this.current) return;
      let now: string;
      try {
        now = linkAddresses(this.readInterfaces(), this.current.interfaces);
      } catch {
        now = this.addresses; // getifaddrs failed this once: look again next time
      }
      if (now === this.addresses) this.schedulePoll(generation);
      else this.readvertise(this.current, now);
    });
  }

  /** A fresh responder for new addresses: goodbyes for the old records, probing, announcements. */
  private readvertise(ad: Advertisement, addresses: string): void {
    this.log?.('info', { from: this.addresses, to: addresses }, 'addresses changed: advertising again');
    this.readvertising = (async () => {
      // A goodbye on a link whose address just went may fail; the new announcement replaces it.
      await this.teardown().catch(() => undefined);
      if (this.current !== ad) return; // stopped meanwhile
      try {
        await this.start(ad);
      } catch (err) {
        // No usable link right now (it went down with its address): try again while still wanted.
        const wanted = this.wanted(); // read again: stop() may have come during start()
        if (!wanted) return;
        this.log?.('warn', { err }, 'advertising again after an address change failed; retrying');
        this.pollTimer = this.clock.setTimer(RETRY_MS, () => {
          this.pollTimer = undefined;
          if (this.current === wanted && this.state === 'idle') this.readvertise(wanted, addresses);
        });
      }
    })().finally(() => {
      this.readvertising = undefined;
    });
  }

  private wanted(): Advertisement | undefined {
    return this.current;
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
    this.pollTimer?.cancel();
    this.pollTimer = undefined;
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
