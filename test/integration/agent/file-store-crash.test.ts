/**
 * Crash safety of the store: a child process rewrites networks.json in a tight loop (two large,
 * distinct contents) and is SIGKILLed at random moments. After every kill the file must hold exactly
 * one of the two contents and load without quarantine. A control run with a plain fs.writeFile shows
 * that the same harness does catch torn files, so the main test is able to fail.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { NetworkState } from '../../../agent/ports/store';
import { FileStore } from '../../../agent/store/file-store';
import { STATE_A, STATE_B } from './store-crash-data';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./store-writer-child.ts', import.meta.url));
const LANES = 4;
const textOf = (s: NetworkState) => `${JSON.stringify({ version: 1, ...s }, null, 2)}\n`;
const TEXTS = [textOf(STATE_A), textOf(STATE_B)];

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Round {
  raw: string | undefined;
  network: NetworkState;
  quarantined: string[];
  /** A temp file was present right after the kill: the kill landed inside a write. */
  midWrite: boolean;
  filesAfterLoad: string[];
}

async function killRound(dir: string, mode: 'atomic' | 'naive'): Promise<Round> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, mode], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready\n')) resolve();
    });
    exited.then(
      ([code]) => reject(new Error(`child exited (${String(code)}) before ready: ${stderr}`)),
      reject,
    );
  });
  // A random moment in the rewrite loop.
  await new Promise((r) => setTimeout(r, Math.random() * 40));
  child.kill('SIGKILL');
  const [, signal] = await exited;
  // Killed while still looping, not dead of its own accord.
  expect(signal, stderr).toBe('SIGKILL');

  const midWrite = (await readdir(dir)).some((n) => n.endsWith('.tmp'));
  const raw = await readFile(join(dir, 'networks.json'), 'utf8').catch(() => undefined);
  const snapshot = await new FileStore(dir).load();
  return {
    raw,
    network: snapshot.network,
    quarantined: snapshot.quarantined,
    midWrite,
    filesAfterLoad: (await readdir(dir)).filter((n) => !n.includes('.corrupt-')),
  };
}

/** `rounds` kill rounds spread over LANES parallel lanes, each lane rewriting its own directory. */
async function runRounds(rounds: number, mode: 'atomic' | 'naive'): Promise<Round[]> {
  const results: Round[] = [];
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      const dir = await mkdtemp(join(tmpdir(), `airlift-crash-${mode}-${lane}-`));
      dirs.push(dir);
      for (let i = lane; i < rounds; i += LANES) results.push(await killRound(dir, mode));
    }),
  );
  return results;
}

describe('FileStore under SIGKILL', () => {
  it('always leaves exactly the old or the new content (48 kills)', async () => {
    const rounds = await runRounds(48, 'atomic');
    expect(rounds).toHaveLength(48);
    for (const round of rounds) {
      expect(round.quarantined).toEqual([]);
      expect(TEXTS).toContain(round.raw);
      expect([STATE_A, STATE_B]).toContainEqual(round.network);
      // Whatever temp file the kill left behind was cleaned up by load().
      expect(round.filesAfterLoad).toEqual(['networks.json']);
    }
    // The kills did land inside writes, so the rounds above tested the interesting moments.
    expect(rounds.filter((r) => r.midWrite).length).toBeGreaterThan(0);
  }, 180_000);

  it('control: the same harness catches a non-atomic writer tearing the file', async () => {
    const rounds = await runRounds(24, 'naive');
    const torn = rounds.filter((r) => r.quarantined.length > 0 || !TEXTS.includes(r.raw ?? ''));
    expect(torn.length).toBeGreaterThan(0);
  }, 120_000);
});
