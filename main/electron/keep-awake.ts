/**
 * The computer kept awake while a job runs: a job left half-way by a sleeping laptop leaves devices
 * on trial and the technician's Wi-Fi on a device's setup network. `prevent-app-suspension` (the
 * system may still turn the display off) from the moment the service is busy until it is not;
 * followed through the service's `job` and `jobStatus` events, with `busy` as the truth.
 */
import type { PowerSaveBlockerLike } from './electron-api';

/** What to do with the blocker, given whether one is held and whether a job runs. */
export function keepAwakeAction(held: boolean, busy: boolean): 'start' | 'stop' | 'none' {
  if (busy && !held) return 'start';
  if (!busy && held) return 'stop';
  return 'none';
}

/** Events after which `busy` may have changed. */
export const JOB_EVENTS: readonly string[] = ['job', 'jobStatus', 'history'];

export class KeepAwake {
  private id: number | undefined;

  constructor(private readonly blocker: PowerSaveBlockerLike) {}

  get held(): boolean {
    return this.id !== undefined && this.blocker.isStarted(this.id);
  }

  sync(busy: boolean): void {
    switch (keepAwakeAction(this.held, busy)) {
      case 'start':
        this.id = this.blocker.start('prevent-app-suspension');
        break;
      case 'stop':
        if (this.id !== undefined) this.blocker.stop(this.id);
        this.id = undefined;
        break;
      case 'none':
        break;
    }
  }

  release(): void {
    this.sync(false);
  }
}
