// Builds the captive portal page into one HTML file and one script: `dist/portal/index.html` and
// `dist/portal/app.js` (esbuild, minified, browser target es2019 with BigInt, which SPAKE2+ needs).
// `node agent/portal/build-page.mjs [--outdir DIR]`; tests import nothing from here and run it.
import { build } from 'esbuild';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Collapses the whitespace between tags; the page's HTML has no <pre> or whitespace-sensitive text. */
function minifyHtml(html) {
  return html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/>\s+</g, '><')
    .trim();
}

/**
 * zod re-exports every locale through `z.locales`, which defeats tree shaking (~270 KiB). The page
 * (and shared/) only ever use English, the locale zod configures by default: keep just that one.
 */
const englishOnlyZod = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)) return undefined;
      const en = resolve(args.resolveDir, args.path.replace(/index\.js$/, 'en.js'));
      return { path: en, namespace: 'zod-english-only' };
    });
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

export async function buildPortalPage({ outdir = 'dist/portal' } = {}) {
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(here, 'page', 'main.ts')],
    outfile: join(outdir, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2019',
    // BigInt literals (the P-256 arithmetic) are kept: a browser without BigInt cannot run SPAKE2+,
    // and the page says so before loading anything.
    supported: { bigint: true },
    minify: true,
    legalComments: 'linked',
    tsconfig: join(here, 'page', 'tsconfig.json'),
    plugins: [englishOnlyZod],
    logLevel: 'warning',
  });
  const html = await readFile(join(here, 'page', 'index.html'), 'utf8');
  await writeFile(join(outdir, 'index.html'), minifyHtml(html) + '\n');
  const sizes = {};
  for (const f of ['index.html', 'app.js']) sizes[f] = (await stat(join(outdir, f))).size;
  return sizes;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--outdir');
  const outdir = i > 0 ? process.argv[i + 1] : 'dist/portal';
  const sizes = await buildPortalPage({ outdir });
  for (const [f, size] of Object.entries(sizes))
    console.log(`${join(outdir, f)}  ${(size / 1024).toFixed(1)} KiB`);
}
