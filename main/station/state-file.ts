/**
 * One JSON file of station state, read through its schema and replaced atomically (0600). A file that
 * does not parse is set aside under a `.corrupt-<time>` name, never overwritten, so nothing a person
 * could still recover is lost; the station starts from the default and says so.
 */
import { rename } from 'node:fs/promises';
import type { z } from 'zod';
import { ensureDir, readFileIfExists, writeFileAtomic } from '../../platform/atomic-file';
import { dirname } from 'node:path';

export interface StateFileRead<T> {
  value: T;
  /** Where an unreadable file was moved, when one was. */
  setAside?: string;
}

export class StateFile<S extends z.ZodType> {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly schema: S,
  ) {}

  async read(fallback: z.output<S>): Promise<StateFileRead<z.output<S>>> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return { value: fallback };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = this.schema.safeParse(parsed);
    if (result.success) return { value: result.data };
    const setAside = `${this.path}.corrupt-${Date.now()}`;
    await rename(this.path, setAside);
    return { value: fallback, setAside };
  }

  /** Replace the file; writes happen in call order. */
  write(value: z.input<S>): Promise<void> {
    const text = `${JSON.stringify(value, null, 2)}\n`;
    const done = this.queue.then(async () => {
      await ensureDir(dirname(this.path));
      await writeFileAtomic(this.path, text, { mode: 0o600 });
    });
    this.queue = done.catch(() => undefined);
    return done;
  }
}
