/**
 * Quitting while a job runs asks first, and never throws the job away: "Pause and quit" lets the
 * chunk under way finish (pushed devices verified, the technician's Wi-Fi restored) and quits when
 * the run has stopped; the job is then resumable from History. "Quit now" stops at once: every step
 * is already in the journal, so the job resumes where it stood, but Wi-Fi may be left on a device's
 * setup network and pushed devices revert after their fail-safe unless the job is resumed in time.
 *
 * The decisions are pure (`quitDecision`, `quitDialog`, `quitChoice`); `QuitGuard` carries them out
 * with an injected dialog and station.
 */
import type { JobStatus } from '../../shared/station-api';
import type { DialogLike, MessageBoxOptionsLike } from './electron-api';

export type QuitPhase = 'idle' | 'asking' | 'pausing' | 'cleaning' | 'done';

export type QuitDecision =
  /** Let the quit happen (cleanup is done). */
  | 'allow'
  /** Nothing runs: stop the service cleanly, then quit. */
  | 'cleanup'
  /** A job runs: ask the technician. */
  | 'ask'
  /** Waiting for a pause to finish: ask whether to stop waiting. */
  | 'ask-while-pausing'
  /** A dialog is open or cleanup is under way: hold the quit. */
  | 'hold';

export function quitDecision(phase: QuitPhase, busy: boolean): QuitDecision {
  switch (phase) {
    case 'done':
      return 'allow';
    case 'asking':
    case 'cleaning':
      return 'hold';
    case 'pausing':
      return busy ? 'ask-while-pausing' : 'cleanup';
    case 'idle':
      return busy ? 'ask' : 'cleanup';
  }
}

export type QuitChoice = 'pause' | 'keep' | 'now';

const RUNNING_BUTTONS: { label: string; choice: QuitChoice }[] = [
  { label: 'Pause and quit', choice: 'pause' },
  { label: 'Keep running', choice: 'keep' },
  { label: 'Quit now', choice: 'now' },
];
const PAUSING_BUTTONS: { label: string; choice: QuitChoice }[] = [
  { label: 'Keep waiting', choice: 'keep' },
  { label: 'Quit now', choice: 'now' },
];

export function quitDialog(kind: 'running' | 'pausing', status?: JobStatus): MessageBoxOptionsLike {
  if (kind === 'pausing')
    return {
      type: 'warning',
      buttons: PAUSING_BUTTONS.map((b) => b.label),
      defaultId: 0,
      cancelId: 0,
      title: 'Airlift',
      message: 'The job is pausing',
      detail:
        'Airlift quits as soon as the devices under way are pushed and verified. Quit now to stop at once: ' +
        'the job can be resumed from History, but this computer may stay on a device’s setup network.',
      noLink: true,
    };
  return {
    type: 'warning',
    buttons: RUNNING_BUTTONS.map((b) => b.label),
    defaultId: 0,
    cancelId: 1,
    title: 'Airlift',
    message: status === 'cancelling' ? 'A job is being cancelled' : 'A job is running',
    detail:
      'Pause and quit finishes the devices under way, returns this computer to its network and quits; the job ' +
      'can be resumed from History. Quit now stops at once: the job can still be resumed, but devices already ' +
      'sent the password go back to setup after their fail-safe unless you resume in time.',
    noLink: true,
  };
}

/** The technician's answer; anything unexpected keeps the job running. */
export function quitChoice(kind: 'running' | 'pausing', response: number): QuitChoice {
  const buttons = kind === 'running' ? RUNNING_BUTTONS : PAUSING_BUTTONS;
  return buttons[response]?.choice ?? 'keep';
}

export interface QuitGuardDeps {
  dialog: DialogLike;
  busy: () => boolean;
  /** The running job's id and status, when one runs. */
  job: () => { id: string; status: JobStatus } | undefined;
  pause: (jobId: string) => Promise<void>;
  /** Resolves when the running job's run has ended. */
  settled: () => Promise<void>;
  /** Stop the service, release the blocker, close the environment. Must not throw. */
  cleanup: () => Promise<void>;
  /** Quit for real (the guard then allows it). */
  quit: () => void;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export class QuitGuard {
  private phase: QuitPhase = 'idle';
  /** The pause asked for on the way out has finished (the run ended). */
  private runEnded = false;

  constructor(private readonly d: QuitGuardDeps) {}

  get state(): QuitPhase {
    return this.phase;
  }

  /** The phase now (it moves while this object awaits). */
  private current(): QuitPhase {
    return this.phase;
  }

  /**
   * A quit was asked for (the window's close, `before-quit`). Returns true when it may proceed now;
   * false means the caller must prevent it (the guard finishes the work and quits later).
   */
  request(): boolean {
    const decision = quitDecision(this.phase, this.d.busy());
    switch (decision) {
      case 'allow':
        return true;
      case 'hold':
        return false;
      case 'cleanup':
        void this.cleanupThenQuit();
        return false;
      case 'ask':
        void this.ask('running');
        return false;
      case 'ask-while-pausing':
        void this.ask('pausing');
        return false;
    }
  }

  private async ask(kind: 'running' | 'pausing'): Promise<void> {
    const before = this.phase;
    this.phase = 'asking';
    let choice: QuitChoice = 'keep';
    try {
      const { response } = await this.d.dialog.showMessageBox(quitDialog(kind, this.d.job()?.status));
      choice = quitChoice(kind, response);
    } catch (err) {
      this.d.log?.('warn', `quit dialog failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    switch (choice) {
      case 'keep':
        this.phase = before;
        // Still waiting for a pause that ended while the dialog was open: go on and quit.
        if (before === 'pausing' && this.runEnded) await this.cleanupThenQuit();
        return;
      case 'now':
        this.d.log?.('warn', 'quitting while a job runs; it can be resumed');
        await this.cleanupThenQuit();
        return;
      case 'pause':
        await this.pauseThenQuit();
        return;
    }
  }

  private async pauseThenQuit(): Promise<void> {
    this.phase = 'pausing';
    const job = this.d.job();
    try {
      if (job && job.status === 'running') await this.d.pause(job.id);
    } catch (err) {
      this.d.log?.('warn', `pausing the job failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    await this.d.settled().catch(() => undefined);
    this.runEnded = true;
    // A dialog open now decides when it closes; "Quit now" may already be cleaning up.
    if (this.current() === 'pausing') await this.cleanupThenQuit();
  }

  private async cleanupThenQuit(): Promise<void> {
    if (this.phase === 'cleaning' || this.phase === 'done') return;
    this.phase = 'cleaning';
    await this.d.cleanup().catch(() => undefined);
    this.phase = 'done';
    this.d.quit();
  }
}
