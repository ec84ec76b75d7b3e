/**
 * The one owner of the radio (ARCHITECTURE.md principle 1). It takes typed commands — scan, startAp,
 * stopAp, join, leave, status, capabilities, close — queues them and runs each alone, in order, on
 * the radio port. HTTP handlers, the control socket and timers never touch the port directly, and
 * nothing waits inside the actor: a delay (the AP's teardown after an answer) is a timer of the
 * lifecycle machine, so other commands run meanwhile. After `close` every command is refused.
 */
import { AirliftError } from '../../shared/errors';
import type { ScanResult } from '../../shared/protocol/wifi';
import type {
  JoinOptions,
  JoinOutcome,
  JoinTarget,
  RadioCapabilities,
  RadioPort,
  RadioStatus,
  SetupApConfig,
} from '../ports/radio';

export type RadioCommand =
  | { kind: 'scan' }
  | { kind: 'startAp'; config: SetupApConfig }
  | { kind: 'stopAp' }
  | { kind: 'join'; target: JoinTarget; options: JoinOptions }
  | { kind: 'leave' }
  | { kind: 'status' }
  | { kind: 'capabilities' }
  | { kind: 'close' };

interface Replies {
  scan: ScanResult[];
  startAp: undefined;
  stopAp: undefined;
  join: JoinOutcome;
  leave: undefined;
  status: RadioStatus;
  capabilities: RadioCapabilities;
  close: undefined;
}

export type RadioReply<C extends RadioCommand> = Replies[C['kind']];

export class RadioActor {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private scanCache?: { at: number; results: ScanResult[] };

  constructor(
    private readonly radio: RadioPort,
    private readonly now: () => number = Date.now,
    private readonly scanCacheMs = 10_000,
  ) {}

  /** Queue `command`; it runs when every earlier command has settled. */
  send<C extends RadioCommand>(command: C): Promise<RadioReply<C>> {
    if (this.closed) {
      return Promise.reject(new AirliftError('BACKEND_UNAVAILABLE', 'The radio was closed'));
    }
    if (command.kind === 'close') this.closed = true;
    this.pending++;
    const result = this.tail.then(() => this.perform(command)) as Promise<RadioReply<C>>;
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.pending--;
    });
  }

  /** Commands queued or running. */
  get depth(): number {
    return this.pending;
  }

  /** Scan, reusing a result younger than `maxAgeMs` unless `force`: a scan costs the radio seconds. */
  async scan(force = false, maxAgeMs = this.scanCacheMs): Promise<ScanResult[]> {
    const cached = this.scanCache;
    if (!force && cached && this.now() - cached.at < maxAgeMs) return cached.results;
    const results = await this.send({ kind: 'scan' });
    this.scanCache = { at: this.now(), results };
    return results;
  }

  private async perform(command: RadioCommand): Promise<Replies[RadioCommand['kind']]> {
    const radio = this.radio;
    switch (command.kind) {
      case 'scan':
        return radio.scan();
      case 'startAp':
        return radio.startAp(command.config).then(() => undefined);
      case 'stopAp':
        return radio.stopAp().then(() => undefined);
      case 'join':
        return radio.join(command.target, command.options);
      case 'leave':
        return radio.leave().then(() => undefined);
      case 'status':
        return radio.status();
      case 'capabilities':
        return radio.capabilities();
      case 'close':
        return radio.close().then(() => undefined);
    }
  }
}
