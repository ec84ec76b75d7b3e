/** Fakes for the Wi-Fi adapter tests: a recording command runner, a manual clock, interface tables. */
import { readFileSync, statSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type {
  CommandOptions,
  CommandResult,
  CommandRunner,
  InterfaceTable,
} from '../../../../main/wifi/command';

export const FIXTURES = join(import.meta.dirname, '../../../fixtures');

export function fixture(dir: string, name: string): string {
  return readFileSync(join(FIXTURES, dir, name), 'utf8');
}

export interface Call {
  file: string;
  args: string[];
  options: CommandOptions;
  /** Files named in argv that existed when the command ran: content and permission bits. */
  files: Record<string, { content: string; mode: number }>;
}

export type Handler = (call: Call) => Partial<CommandResult> | Promise<Partial<CommandResult>>;

/** Records every call (with the files its argv points at, read while the command "runs"). */
export class FakeRunner implements CommandRunner {
  readonly calls: Call[] = [];
  constructor(private readonly handler: Handler) {}

  async run(file: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
    const call: Call = { file, args: [...args], options, files: {} };
    for (const a of args) {
      const path = a.startsWith('filename=') ? a.slice('filename='.length) : a;
      if (!path.startsWith('/')) continue;
      try {
        const st = statSync(path);
        if (st.isFile()) call.files[path] = { content: readFileSync(path, 'utf8'), mode: st.mode & 0o777 };
      } catch {
        // not a file
      }
    }
    this.calls.push(call);
    const r = await this.handler(call);
    return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 1, ...r };
  }

  /** Calls whose argv contains `words` in order (contiguously). */
  find(...words: string[]): Call[] {
    return this.calls.filter((c) => c.args.some((_, i) => words.every((w, k) => c.args[i + k] === w)));
  }
}

/** Time that moves only when the code under test sleeps. */
export function manualClock(): {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  advance: (ms: number) => void;
} {
  let t = 0;
  return {
    now: () => t,
    sleep: (ms) => {
      t += ms;
      return Promise.resolve();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export function ipv4(address: string, mac = 'a4:83:e7:1c:62:9d'): NetworkInterfaceInfo {
  return { address, family: 'IPv4', internal: false, mac, netmask: '255.255.255.0', cidr: `${address}/24` };
}

export function table(entries: Record<string, NetworkInterfaceInfo[]>): () => InterfaceTable {
  return () => entries;
}

/** No argument, file path or environment value of any call holds the secret. */
export function expectSecretNeverInArgv(calls: readonly Call[], secret: string): void {
  expect(calls.length).toBeGreaterThan(0);
  for (const c of calls) {
    expect(c.file.includes(secret), c.file).toBe(false);
    for (const a of c.args) expect(a.includes(secret), `argv element ${JSON.stringify(a)}`).toBe(false);
    for (const v of Object.values(c.options.env ?? {})) expect(v.includes(secret)).toBe(false);
  }
}
