import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ExecRunner,
  childEnv,
  redact,
  redactArgs,
  runSync,
  type CommandEvent,
} from '../../../platform/commands';
import { AirliftError } from '../../../shared/errors';

/** Whether a pid is a live (non-zombie) process. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('ExecRunner', () => {
  it('passes arguments verbatim, with no shell to interpret them', async () => {
    const result = await new ExecRunner().run('/bin/echo', ['hello', '$HOME', '; ls', '`id`', 'a b', '*']);
    expect(result).toMatchObject({
      code: 0,
      signal: null,
      stdout: 'hello $HOME ; ls `id` a b *\n',
      stderr: '',
      timedOut: false,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('resolves with a non-zero exit code and stderr rather than rejecting', async () => {
    const result = await new ExecRunner().run('sh', ['-c', 'echo oops >&2; exit 3']);
    expect(result).toMatchObject({ code: 3, signal: null, stdout: '', stderr: 'oops\n', timedOut: false });
  });

  it('writes input to stdin and closes it', async () => {
    const input = 'network={\n  psk="s3cr3t \\" quote"\n}\n';
    expect((await new ExecRunner().run('cat', [], { input })).stdout).toBe(input);
  });

  it('closes stdin at once when there is no input, so readers see EOF', async () => {
    const result = await new ExecRunner().run('cat', [], { timeoutMs: 5000 });
    expect(result).toMatchObject({ code: 0, stdout: '', timedOut: false });
  });

  it('does not fail when the command ignores its input', async () => {
    const result = await new ExecRunner().run('true', [], { input: 'x'.repeat(4 * 1024 * 1024) });
    expect(result.code).toBe(0);
  });

  it('gives the child only PATH, LC_ALL=C, LANG=C and the extra env', async () => {
    process.env.AIRLIFT_TEST_LEAK = 'must-not-pass';
    try {
      const runner = new ExecRunner();
      const env = await runner.run('/usr/bin/env', [], {
        env: { FOO: 'bar', LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' },
      });
      const vars = env.stdout.trim().split('\n').sort();
      expect(vars).toEqual(['FOO=bar', 'LANG=C', 'LC_ALL=C', `PATH=${process.env.PATH ?? ''}`].sort());

      const viaSh = await runner.run('sh', ['-c', 'echo "$LC_ALL ${AIRLIFT_TEST_LEAK:-unset}"']);
      expect(viaSh.stdout).toBe('C unset\n');
    } finally {
      delete process.env.AIRLIFT_TEST_LEAK;
    }
  });

  it('times out with SIGTERM', async () => {
    const result = await new ExecRunner().run('sleep', ['30'], { timeoutMs: 200 });
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM', timedOut: true });
    expect(result.durationMs).toBeGreaterThanOrEqual(150);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('uses a 10 s timeout by default', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let settled = false;
      const running = new ExecRunner().run('sleep', ['30']).finally(() => (settled = true));
      await vi.advanceTimersByTimeAsync(9_900);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(100);
      expect(await running).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const runner = new ExecRunner({ killGraceMs: 200 });
    const result = await runner.run('sh', ['-c', "trap '' TERM; sleep 30"], { timeoutMs: 200 });
    expect(result).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: true });
    expect(result.durationMs).toBeGreaterThanOrEqual(350);
  });

  it('stops what the command forked when it times out', async () => {
    const result = await new ExecRunner().run('sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300 });
    const pid = Number(result.stdout.trim());
    leftovers.push(pid);
    expect(result.timedOut).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(running(pid)).toBe(false);
  });

  it('does not wait forever for a forked process that keeps the pipes open', async () => {
    const runner = new ExecRunner({ killGraceMs: 300 });
    const result = await runner.run('sh', ['-c', 'sleep 30 & echo $!'], { timeoutMs: 20_000 });
    leftovers.push(Number(result.stdout.trim()));
    expect(result).toMatchObject({ code: 0, timedOut: false });
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('caps stdout and stderr at maxOutputBytes and keeps draining', async () => {
    const events: CommandEvent[] = [];
    const runner = new ExecRunner({ onCommand: (e) => events.push(e) });
    const big = 'y'.repeat(3 * 1024 * 1024);
    const capped = await runner.run('cat', [], { input: big, maxOutputBytes: 1000 });
    expect(capped.stdout).toBe('y'.repeat(1000));
    expect(capped.code).toBe(0);
    expect(events[0]?.truncated).toBe(true);

    const byDefault = await runner.run('cat', [], { input: big });
    expect(byDefault.stdout.length).toBe(1024 * 1024);

    const err = await runner.run('sh', ['-c', 'head -c 5000 /dev/zero | tr "\\0" e >&2'], {
      maxOutputBytes: 10,
    });
    expect(err.stderr).toBe('eeeeeeeeee');
  });

  it('rejects with COMMAND_FAILED when the command cannot start', async () => {
    const events: CommandEvent[] = [];
    const runner = new ExecRunner({ onCommand: (e) => events.push(e) });
    const err: unknown = await runner
      .run('/nonexistent/airlift-missing-tool', ['--x'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirliftError);
    expect(err).toMatchObject({ code: 'COMMAND_FAILED', details: { errno: 'ENOENT' } });
    expect((err as AirliftError).message).toContain('/nonexistent/airlift-missing-tool');
    expect(events).toEqual([
      expect.objectContaining({
        file: '/nonexistent/airlift-missing-tool',
        args: ['--x'],
        code: null,
        error: 'ENOENT',
      }),
    ]);

    const dir = mkdtempSync(join(tmpdir(), 'airlift-exec-'));
    try {
      const plain = join(dir, 'not-executable');
      writeFileSync(plain, 'echo hi\n', { mode: 0o644 });
      const notExecutable = await runner.run(plain, []).catch((e: unknown) => e);
      expect(notExecutable).toMatchObject({ code: 'COMMAND_FAILED', details: { errno: 'EACCES' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects arguments Node refuses (NUL bytes) with COMMAND_FAILED', async () => {
    await expect(new ExecRunner().run('/bin/echo', ['a\0b'])).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
    });
  });

  it('keeps redacted values out of errors and of what it reports', async () => {
    const secret = 'hunter2-very-secret';
    const events: CommandEvent[] = [];
    const runner = new ExecRunner({ onCommand: (e) => events.push(e) });
    const err: unknown = await runner
      .run(`/nonexistent/${secret}/tool`, ['--psk', secret, `psk=${secret}`], { redact: [secret] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirliftError);
    const e = err as AirliftError;
    expect(e.message).toContain('/nonexistent/***/tool');
    const everything = JSON.stringify({
      m: e.message,
      s: e.stack,
      d: e.details,
      c: String(e.cause),
      ev: events,
    });
    expect(everything).not.toContain(secret);

    events.length = 0;
    const ok = await runner.run('/bin/echo', ['psk=' + secret], { redact: [secret] });
    expect(events[0]?.args).toEqual(['psk=***']);
    // The output is the caller's to parse: it is not altered.
    expect(ok.stdout).toBe(`psk=${secret}\n`);
  });

  it('reports each command to onCommand, and a throwing hook changes nothing', async () => {
    const seen: CommandEvent[] = [];
    const runner = new ExecRunner({
      onCommand: (e) => {
        seen.push(e);
        throw new Error('logger broke');
      },
    });
    const result = await runner.run('sh', ['-c', 'exit 2']);
    expect(result.code).toBe(2);
    expect(seen).toEqual([
      {
        file: 'sh',
        args: ['-c', 'exit 2'],
        code: 2,
        signal: null,
        timedOut: false,
        durationMs: result.durationMs,
      },
    ]);
  });
});

describe('ExecRunner options', () => {
  it('runs in the given working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlift-cwd-'));
    try {
      expect((await new ExecRunner().run('pwd', [], { cwd: dir })).stdout.trim()).toBe(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes the whole environment only when told to (the lab harness), still with LC_ALL=C', async () => {
    const base = { PATH: process.env.PATH ?? '', HOME: '/nowhere', LC_ALL: 'de_DE.UTF-8' };
    const inherited = await new ExecRunner({ baseEnv: base, inheritEnv: true }).run('sh', [
      '-c',
      'echo "$HOME $LC_ALL"',
    ]);
    expect(inherited.stdout).toBe('/nowhere C\n');
    const minimal = await new ExecRunner({ baseEnv: base }).run('sh', ['-c', 'echo "${HOME:-unset}"']);
    expect(minimal.stdout).toBe('unset\n');
  });

  it('times out a command that forks, killing the process group', async () => {
    const r = await new ExecRunner({ killGraceMs: 100 }).run('sh', ['-c', 'sleep 5 & sleep 5'], {
      timeoutMs: 100,
    });
    expect(r.timedOut).toBe(true);
    expect(r.code === null || r.code !== 0).toBe(true);
  });
});

describe('childEnv', () => {
  it('gives POSIX children PATH only, Windows children their whole environment', () => {
    expect(childEnv({ PATH: '/bin', TOKEN: 't' }, {}, { platform: 'linux' })).toEqual({
      PATH: '/bin',
      LC_ALL: 'C',
      LANG: 'C',
    });
    expect(childEnv({ TOKEN: 't' }, {}, { platform: 'linux' }).PATH).toMatch(/\/usr\/bin/);
    expect(childEnv({ Path: 'C:\\W', SystemRoot: 'C:\\Windows' }, {}, { platform: 'win32' })).toEqual({
      Path: 'C:\\W',
      SystemRoot: 'C:\\Windows',
      LC_ALL: 'C',
    });
  });

  it('lets extra variables through but never over the locale', () => {
    expect(
      childEnv({ PATH: '/bin' }, { FOO: 'x', LC_ALL: 'fr_FR', LANG: 'fr_FR' }, { platform: 'linux' }),
    ).toEqual({
      PATH: '/bin',
      FOO: 'x',
      LC_ALL: 'C',
      LANG: 'C',
    });
    expect(childEnv({ PATH: '/bin', TOKEN: 't' }, {}, { platform: 'linux', inherit: true })).toEqual({
      PATH: '/bin',
      TOKEN: 't',
      LC_ALL: 'C',
      LANG: 'C',
    });
  });
});

describe('runSync', () => {
  it('returns the exit code, or null when the command cannot start', () => {
    expect(runSync('sh', ['-c', 'exit 3'])).toBe(3);
    expect(runSync('true', [])).toBe(0);
    expect(runSync('/nonexistent/airlift-missing-tool', [])).toBeNull();
  });
});

describe('redact', () => {
  it('masks a secret containing another whole', () => {
    expect(redact('abcabc', ['abc', 'abcabc'])).toBe('***');
    expect(redact('x')).toBe('x');
  });
});

describe('redactArgs', () => {
  it('masks secrets wherever they occur, longest first', () => {
    expect(redactArgs(['wpa_passphrase', 'Home', 'pa55word'], ['pa55word'])).toEqual([
      'wpa_passphrase',
      'Home',
      '***',
    ]);
    expect(redactArgs(['psk=abcabc', 'abc'], ['abc', 'abcabc'])).toEqual(['psk=***', '***']);
    expect(redactArgs(['x'], ['', 'y'])).toEqual(['x']);
    expect(redactArgs(['x'])).toEqual(['x']);
  });

  it('never lets a secret through (property)', () => {
    const secret = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('*'));
    fc.assert(
      fc.property(
        fc.array(secret, { minLength: 1, maxLength: 4 }),
        fc.array(fc.string()),
        (secrets, noise) => {
          const args = noise.map((n, i) => `${n}${secrets[i % secrets.length] ?? ''}${n}`);
          const out = redactArgs(args, secrets);
          for (const arg of out) for (const s of secrets) expect(arg).not.toContain(s);
        },
      ),
    );
  });

  it('leaves arguments without secrets unchanged (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary-ascii' })), (args) => {
        expect(redactArgs(args, ['\u{1F511}'])).toEqual(args);
      }),
    );
  });
});
