/** Keep-awake, the quit guard and the updater policy: pure decisions, then their carriers over fakes. */
import { describe, expect, it } from 'vitest';
import { KeepAwake, keepAwakeAction } from '../../../../main/electron/keep-awake';
import { QuitGuard, quitChoice, quitDecision, quitDialog, type QuitPhase } from '../../../../main/electron/quit';
import { isHttpsUrl, updateDecision, UpdateScheduler, type UpdaterLike } from '../../../../main/electron/updates';
import type { JobStatus } from '../../../../shared/station-api';
import { FakeDialog, FakePowerSaveBlocker } from './fake-electron';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('keep-awake', () => {
  it.each([
    [false, true, 'start'],
    [true, false, 'stop'],
    [true, true, 'none'],
    [false, false, 'none'],
  ] as const)('held %s, busy %s → %s', (held, busy, action) => {
    expect(keepAwakeAction(held, busy)).toBe(action);
  });

  it('holds one prevent-app-suspension blocker while busy and releases it after', () => {
    const b = new FakePowerSaveBlocker();
    const k = new KeepAwake(b);
    k.sync(true);
    k.sync(true);
    expect(b.log).toEqual(['start prevent-app-suspension']);
    expect(k.held).toBe(true);
    k.sync(false);
    expect(b.active.size).toBe(0);
    k.sync(true);
    k.release();
    expect(b.active.size).toBe(0);
    expect(b.log.filter((l) => l.startsWith('start'))).toHaveLength(2);
  });
});

describe('the quit policy', () => {
  it.each([
    ['idle', false, 'cleanup'],
    ['idle', true, 'ask'],
    ['asking', true, 'hold'],
    ['asking', false, 'hold'],
    ['pausing', true, 'ask-while-pausing'],
    ['pausing', false, 'cleanup'],
    ['cleaning', true, 'hold'],
    ['done', true, 'allow'],
    ['done', false, 'allow'],
  ] as [QuitPhase, boolean, string][])('%s, busy %s → %s', (phase, busy, decision) => {
    expect(quitDecision(phase, busy)).toBe(decision);
  });

  it('asks with pause as the default and keep-running as the cancel', () => {
    const d = quitDialog('running', 'running');
    expect(d.buttons).toEqual(['Pause and quit', 'Keep running', 'Quit now']);
    expect(quitChoice('running', d.defaultId)).toBe('pause');
    expect(quitChoice('running', d.cancelId)).toBe('keep');
    expect(quitChoice('running', 2)).toBe('now');
    expect(quitChoice('running', 99)).toBe('keep');
    expect(quitChoice('running', -1)).toBe('keep');
    const p = quitDialog('pausing');
    expect(quitChoice('pausing', p.cancelId)).toBe('keep');
    expect(quitChoice('pausing', 1)).toBe('now');
    expect(d.detail).toMatch(/resumed/);
  });
});

function guard(o: { busy: boolean; status?: JobStatus }) {
  const dialog = new FakeDialog();
  const events: string[] = [];
  let busy = o.busy;
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((r) => (settle = r));
  const g = new QuitGuard({
    dialog,
    busy: () => busy,
    job: () => (busy ? { id: 'job-1', status: o.status ?? 'running' } : undefined),
    pause: (id) => {
      events.push(`pause ${id}`);
      return Promise.resolve();
    },
    settled: () => settled,
    cleanup: () => {
      events.push('cleanup');
      return Promise.resolve();
    },
    quit: () => events.push('quit'),
  });
  const finishRun = () => {
    busy = false;
    settle();
  };
  return { g, dialog, events, finishRun };
}

describe('the quit guard', () => {
  it('with nothing running: cleans up, then lets the quit through', async () => {
    const t = guard({ busy: false });
    expect(t.g.request()).toBe(false);
    await tick();
    expect(t.events).toEqual(['cleanup', 'quit']);
    expect(t.g.request()).toBe(true);
    expect(t.dialog.asked).toEqual([]);
  });

  it('mid-run, "Keep running" keeps it running', async () => {
    const t = guard({ busy: true });
    t.dialog.answers.push(1);
    expect(t.g.request()).toBe(false);
    await tick();
    expect(t.events).toEqual([]);
    expect(t.g.state).toBe('idle');
  });

  it('mid-run, "Pause and quit" pauses, waits for the run to end, then quits', async () => {
    const t = guard({ busy: true });
    t.dialog.answers.push(0);
    expect(t.g.request()).toBe(false);
    await tick();
    expect(t.events).toEqual(['pause job-1']);
    expect(t.g.state).toBe('pausing');
    expect(t.g.request()).toBe(false); // another quit while pausing asks, does not quit
    await tick();
    t.finishRun();
    await tick();
    await tick();
    expect(t.events).toEqual(['pause job-1', 'cleanup', 'quit']);
    expect(t.g.request()).toBe(true);
  });

  it('a job already pausing or cancelling is waited for, not paused again', async () => {
    const t = guard({ busy: true, status: 'cancelling' });
    t.dialog.answers.push(0);
    t.g.request();
    await tick();
    t.finishRun();
    await tick();
    await tick();
    expect(t.events).toEqual(['cleanup', 'quit']);
    expect(t.dialog.asked[0]?.message).toMatch(/cancelled/);
  });

  it('"Quit now" quits at once (the journal keeps the job resumable)', async () => {
    const t = guard({ busy: true });
    t.dialog.answers.push(2);
    t.g.request();
    await tick();
    expect(t.events).toEqual(['cleanup', 'quit']);
  });

  it('while pausing, a second quit can choose "Quit now"', async () => {
    const t = guard({ busy: true });
    t.dialog.answers.push(0, 1);
    t.g.request();
    await tick();
    t.g.request();
    await tick();
    await tick();
    expect(t.events).toEqual(['pause job-1', 'cleanup', 'quit']);
  });

  it('a pause that ends while the "keep waiting" dialog is open still quits when it closes', async () => {
    const t = guard({ busy: true });
    t.dialog.answers.push(0);
    t.g.request();
    await tick();
    t.dialog.hold = true;
    t.g.request();
    await tick();
    t.finishRun();
    await tick();
    expect(t.events).toEqual(['pause job-1']);
    t.dialog.answer(0); // "Keep waiting"
    await tick();
    await tick();
    expect(t.events).toEqual(['pause job-1', 'cleanup', 'quit']);
  });

  it('a dialog open holds further quits', async () => {
    const t = guard({ busy: true });
    t.dialog.hold = true;
    t.g.request();
    expect(t.g.request()).toBe(false);
    expect(t.dialog.asked).toHaveLength(1);
    t.dialog.answer(1);
    await tick();
    expect(t.g.state).toBe('idle');
  });
});

describe('the updater policy', () => {
  const base = { packaged: true, lab: false, busy: false, feedUrl: 'https://updates.example/desktop', disabled: false };

  it('checks a packaged app over HTTPS when nothing runs', () => {
    expect(updateDecision(base)).toEqual({ go: true });
  });

  it.each([
    ['a job runs', { busy: true }, /job/],
    ['lab mode', { lab: true }, /lab/],
    ['a development build', { packaged: false }, /development/],
    ['an http feed', { feedUrl: 'http://updates.example/desktop' }, /HTTPS/],
    ['a feed with credentials', { feedUrl: 'https://u:p@updates.example/' }, /HTTPS/],
    ['a file feed', { feedUrl: 'file:///tmp/feed' }, /HTTPS/],
    ['turned off', { disabled: true }, /off/],
  ])('never when %s', (_what, over, why) => {
    const d = updateDecision({ ...base, ...over });
    expect(d.go).toBe(false);
    if (!d.go) expect(d.why).toMatch(why);
  });

  it('knows an HTTPS URL', () => {
    expect(isHttpsUrl('https://a.example/x')).toBe(true);
    expect(isHttpsUrl('HTTPS://a.example/x')).toBe(true);
    expect(isHttpsUrl('https://')).toBe(false);
    expect(isHttpsUrl('nonsense')).toBe(false);
  });
});

class FakeUpdater implements UpdaterLike {
  autoDownload = true;
  autoInstallOnAppQuit = false;
  allowDowngrade = true;
  feed: unknown;
  checks = 0;
  downloads = 0;
  private available: (() => void)[] = [];
  setFeedURL(o: { provider: 'generic'; url: string }): void {
    this.feed = o;
  }
  checkForUpdates(): Promise<unknown> {
    this.checks++;
    for (const l of this.available) l();
    return Promise.resolve(null);
  }
  downloadUpdate(): Promise<unknown> {
    this.downloads++;
    return Promise.resolve([]);
  }
  on(event: string, listener: (...args: never[]) => void): this {
    if (event === 'update-available') this.available.push(listener);
    return this;
  }
}

describe('the update scheduler', () => {
  it('sets the HTTPS feed, never downloads by itself, checks and downloads only when allowed', async () => {
    const u = new FakeUpdater();
    let busy = false;
    const timers: (() => void)[] = [];
    const s = new UpdateScheduler({
      updater: u,
      policy: () => ({ packaged: true, lab: false, busy, feedUrl: 'https://updates.example/desktop', disabled: false }),
      setTimer: (cb) => {
        timers.push(cb);
        return {};
      },
      clearTimer: () => undefined,
    });
    expect(u.autoDownload).toBe(false);
    expect(u.autoInstallOnAppQuit).toBe(true);
    expect(u.allowDowngrade).toBe(false);
    expect(u.feed).toEqual({ provider: 'generic', url: 'https://updates.example/desktop' });
    s.start();
    expect(timers).toHaveLength(1);
    busy = true;
    timers[0]?.();
    await tick();
    expect(u.checks).toBe(0);
    busy = false;
    expect(await s.check()).toBe(true);
    expect(u.checks).toBe(1);
    expect(u.downloads).toBe(1);
    s.stop();
  });

  it('does not even schedule in lab mode', () => {
    const u = new FakeUpdater();
    const timers: unknown[] = [];
    const s = new UpdateScheduler({
      updater: u,
      policy: () => ({ packaged: true, lab: true, busy: false, feedUrl: 'https://updates.example/desktop', disabled: false }),
      setTimer: (cb) => {
        timers.push(cb);
        return {};
      },
    });
    s.start();
    expect(timers).toEqual([]);
  });
});
