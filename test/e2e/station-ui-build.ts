/**
 * Build the station UI for a browser test, into a scratch directory (never the shared dist/).
 * Vitest runs with NODE_ENV=test, which a Vite build would inherit: React's development JSX and
 * react-aria's jsdom mode, where the virtualizer lays out every row. The build runs as production.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function buildStationUi(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'airlift-station-ui-'));
  const { build } = await import('vite');
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      configFile: fileURLToPath(new URL('../../renderer/vite.config.ts', import.meta.url)),
      build: { outDir, emptyOutDir: true },
      logLevel: 'error',
    });
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
  return outDir;
}
