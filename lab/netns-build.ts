/**
 * The network lab's two bundles (the device agent and the station CLI), built the way
 * scripts/build.mjs builds them — one ESM file each, minified, `require` provided — into a
 * directory of the caller's: tests and benchmarks build into a scratch directory (no source maps),
 * so they never race a `npm run build` writing the shared dist/, and remove it when done.
 * esbuild is imported only here, at run time.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NETNS_ENTRIES = [
  { in: 'lab/netns-device.ts', out: 'netns-device.js' },
  { in: 'lab/netns-station.ts', out: 'netns-station.js' },
] as const;

const REPO = fileURLToPath(new URL('..', import.meta.url));

/**
 * Build both entries into `outDir` (default: a fresh temp directory); returns the directory.
 * `minify: false` (benchmarks profiling the bundles) keeps names and esbuild's per-module comments.
 */
export async function buildNetnsBundles(outDir?: string, o: { minify?: boolean } = {}): Promise<string> {
  const dir = outDir ?? (await mkdtemp(join(tmpdir(), 'airlift-netns-bundle-')));
  const { build } = await import('esbuild');
  for (const e of NETNS_ENTRIES) {
    await build({
      entryPoints: [join(REPO, e.in)],
      outfile: join(dir, e.out),
      bundle: true,
      platform: 'node',
      target: 'node20.19',
      format: 'esm',
      minify: o.minify ?? true,
      define: { __AIRLIFT_VERSION__: JSON.stringify('lab-netns') },
      banner: {
        js: "import { createRequire as __airliftRequire } from 'node:module'; const require = __airliftRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
  }
  return dir;
}
