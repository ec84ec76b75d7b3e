import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forkNode, spawnChild, spawnProcess, stopChild } from '../../../platform/processes';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('spawnProcess', () => {
  it('hands over every line of stdout and stderr, with no shell and a minimal environment', async () => {
    process.env.AIRLIFT_TEST_LEAK = 'must-not-pass';
    try {
      const p = spawnProcess('sh', [
        '-c',
        'echo "out $LC_ALL ${AIRLIFT_TEST_LEAK:-unset}"; echo err >&2; printf "no newline"',
      ]);
      const lines: string[] = [];
      p.onLine((l) => lines.push(l));
      expect(await p.exited).toEqual({ code: 0, signal: null });
      await new Promise((r) => setTimeout(r, 20));
      expect(lines.sort()).toEqual(['err', 'no newline', 'out C unset']);
    } finally {
      delete process.env.AIRLIFT_TEST_LEAK;
    }
  });

  it('keeps stdin open (wpa_cli interactive mode) until stopped', async () => {
    const p = spawnProcess('cat', []);
    const early = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('running'), 200))]);
    expect(early).toBe('running');
    await p.stop();
    expect(await p.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('stops with SIGTERM, then SIGKILL after the grace period; stop is idempotent', async () => {
    const p = spawnProcess('sh', ['-c', "trap '' TERM; echo ready; while :; do sleep 1; done"], {
      stopGraceMs: 200,
    });
    await new Promise<void>((resolve) => p.onLine((l) => l === 'ready' && resolve()));
    const started = Date.now();
    const [a, b] = [p.stop(), p.stop()];
    expect(a).toBe(b);
    await a;
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect((await p.exited).signal).toBe('SIGKILL');
  });

  it('reports a command that cannot start as a line and an exit, without throwing', async () => {
    const p = spawnProcess('/nonexistent/airlift-missing-daemon', ['-B']);
    const lines: string[] = [];
    p.onLine((l) => lines.push(l));
    expect(await p.exited).toEqual({ code: null, signal: null });
    expect(lines).toEqual([expect.stringMatching(/^spawn error: .*ENOENT/)]);
    await p.stop();
  });

  it('drops output lines longer than the limit', async () => {
    const p = spawnProcess('sh', ['-c', 'head -c 300 /dev/zero | tr "\\0" x; echo; echo short'], {
      maxLineBytes: 100,
    });
    const lines: string[] = [];
    p.onLine((l) => lines.push(l));
    await p.exited;
    await new Promise((r) => setTimeout(r, 20));
    expect(lines).toEqual(['short']);
  });
});

describe('spawnChild and stopChild', () => {
  it('gives the child to talk to, in a working directory, and stops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlift-spawn-'));
    dirs.push(dir);
    const child = spawnChild('sh', ['-c', 'pwd; cat'], { cwd: dir });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stdin?.write('echoed\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(out).toBe(`${dir}\nechoed\n`);
    await stopChild(child, 1000);
    expect(child.signalCode).toBe('SIGTERM');
    await stopChild(child, 1000); // already gone: resolves at once
  });

  it('passes this environment through only when asked (the lab harness)', async () => {
    process.env.AIRLIFT_TEST_PASS = 'through';
    try {
      const read = async (inheritEnv: boolean): Promise<string> => {
        const child = spawnChild('sh', ['-c', 'echo "${AIRLIFT_TEST_PASS:-unset} $LC_ALL"'], { inheritEnv });
        let out = '';
        child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
        await new Promise((r) => child.on('close', r));
        return out;
      };
      expect(await read(true)).toBe('through C\n');
      expect(await read(false)).toBe('unset C\n');
    } finally {
      delete process.env.AIRLIFT_TEST_PASS;
    }
  });

  it('does not crash this process when the child cannot start or its stdin is gone', async () => {
    const missing = spawnChild('/nonexistent/airlift-missing', []);
    await new Promise((r) => missing.on('close', r));
    const gone = spawnChild('true', []);
    await new Promise((r) => gone.on('exit', r));
    gone.stdin?.write('x'.repeat(1 << 20));
    await new Promise((r) => setTimeout(r, 50));
  });
});

describe('forkNode', () => {
  it('runs a Node module with an IPC channel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlift-fork-'));
    dirs.push(dir);
    const script = join(dir, 'echo.cjs');
    writeFileSync(script, "process.on('message', (m) => { process.send({ echo: m }); process.exit(0); });\n");
    const child = forkNode(script, []);
    const reply = new Promise((resolve) => child.once('message', resolve));
    child.send('hello');
    expect(await reply).toEqual({ echo: 'hello' });
    await new Promise((r) => child.once('exit', r));
  });
});
