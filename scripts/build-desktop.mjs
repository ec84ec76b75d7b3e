// Builds the desktop app into dist/desktop (what electron-builder.yml packages, with dist/renderer):
//   dist/desktop/main.js      the main process (ESM, `electron` left external)
//   dist/desktop/preload.cjs  the sandboxed preload (CommonJS: a sandboxed preload may require only
//                             `electron` and a few others, so everything else is bundled in, and the
//                             build fails if the bundle requires anything but `electron`)
//   dist/desktop/lab.js       with --lab: the app on the virtual fleet (never packaged)
//   dist/macos-helper/airlift-wifi-helper   on a Mac: the CoreWLAN helper (main/wifi/macos-helper/),
//                             universal (arm64 + x86_64), its Info.plist embedded; electron-builder
//                             signs it into Contents/Helpers. Skipped elsewhere, or with --skip-macos-helper.
// and the UI into dist/renderer (Vite), unless --skip-renderer.
//
// Nothing here loads `electron`: esbuild only names it as external.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

/** Electron 45: Node 22 in the main process, Chromium 140 in the renderer. */
export const ELECTRON_TARGETS = { main: 'node22', preload: 'chrome140' };

/** Modules a sandboxed preload may require (Electron's docs: electron, events, timers, url). */
export const SANDBOXED_PRELOAD_MODULES = ['electron', 'events', 'timers', 'url'];

const common = {
  bundle: true,
  absWorkingDir: root,
  external: ['electron'],
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  define: { __AIRLIFT_VERSION__: JSON.stringify(pkg.version) },
};

/** The preload as a string (the tests run this exact bundle in a vm). */
export async function buildPreload({ write = true, outfile = 'dist/desktop/preload.cjs' } = {}) {
  const result = await build({
    ...common,
    entryPoints: ['main/electron/preload.ts'],
    outfile,
    platform: 'node',
    format: 'cjs',
    target: ELECTRON_TARGETS.preload,
    sourcemap: write ? 'linked' : false,
    legalComments: write ? 'linked' : 'none',
    metafile: true,
    write,
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  const stray = imports.filter((m) => !SANDBOXED_PRELOAD_MODULES.includes(m));
  if (stray.length > 0) throw new Error(`the preload requires ${stray.join(', ')}: a sandboxed preload cannot`);
  const js = result.outputFiles?.find((f) => f.path.endsWith('.cjs'));
  return js?.text;
}

/** A main-process entry (main/electron/main.ts, lab/desktop.ts) as one ESM file. */
export async function buildMain(entry, outfile) {
  await build({
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'node',
    format: 'esm',
    target: ELECTRON_TARGETS.main,
    // CommonJS dependencies (ciao, electron-updater) call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __airliftRequire } from 'node:module'; const require = __airliftRequire(import.meta.url);",
    },
  });
}

/** swiftc per main/wifi/macos-helper/README.md, once per architecture, then lipo. macOS only. */
async function buildMacosHelper() {
  const src = 'main/wifi/macos-helper';
  const out = 'dist/macos-helper/airlift-wifi-helper';
  await mkdir(new URL('../dist/macos-helper/', import.meta.url), { recursive: true });
  const parts = [];
  for (const arch of ['arm64', 'x86_64']) {
    const part = `${out}-${arch}`;
    execFileSync('swiftc', [
      '-O', '-target', `${arch}-apple-macos12`, '-o', part, `${src}/airlift-wifi-helper.swift`,
      '-framework', 'CoreWLAN', '-framework', 'CoreLocation',
      '-Xlinker', '-sectcreate', '-Xlinker', '__TEXT', '-Xlinker', '__info_plist', '-Xlinker', `${src}/Info.plist`,
    ], { cwd: root, stdio: 'inherit' });
    parts.push(part);
  }
  execFileSync('lipo', ['-create', '-output', out, ...parts], { cwd: root, stdio: 'inherit' });
  for (const part of parts) await rm(new URL(`../${part}`, import.meta.url));
  return out;
}

async function report(file) {
  const { size } = await stat(new URL(`../${file}`, import.meta.url));
  console.log(`${file}  ${(size / 1024).toFixed(0)} KiB`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!args.includes('--skip-renderer')) {
    const vite = await import('vite');
    await vite.build({ configFile: fileURLToPath(new URL('../renderer/vite.config.ts', import.meta.url)), logLevel: 'warn' });
    console.log('dist/renderer/');
  }
  await buildMain('main/electron/main.ts', 'dist/desktop/main.js');
  await report('dist/desktop/main.js');
  await buildPreload();
  await report('dist/desktop/preload.cjs');
  if (args.includes('--lab')) {
    await buildMain('lab/desktop.ts', 'dist/desktop/lab.js');
    await report('dist/desktop/lab.js');
  }
  if (process.platform === 'darwin' && !args.includes('--skip-macos-helper')) await report(await buildMacosHelper());
}
