// The steps of a single executable (decision 0009), used by scripts/package-agent-sea.mjs (the
// packages) and scripts/bench-agent-sea.mjs (the figures): fetch the pinned Node, bundle as
// CommonJS, make the blob, and inject it into a stripped copy of a target's node.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { inject } from 'postject';
import {
  NODE_TARGETS,
  NODE_VERSION,
  SEA_DEPENDS,
  SEA_FUSE,
  SEA_RESOURCE,
  SEA_SYMBOL_CEILING,
  compareVersions,
  debArchForNodeArch,
  seaConfig,
} from './config.mjs';

/** Where the pinned Node builds are kept: outside git (.gitignore has .cache/). */
export const CACHE_DIR = resolve(process.env.AIRLIFT_SEA_CACHE ?? '.cache/node-sea');

export const has = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
export const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The pinned official Node build for `deb` arch, from the cache or npm; its directory. */
export function fetchNode(deb, cache = CACHE_DIR) {
  const t = NODE_TARGETS[deb];
  const dir = join(cache, `${t.npmName}-${NODE_VERSION}`);
  const stamp = join(dir, '.integrity');
  if (
    existsSync(join(dir, 'bin/node')) &&
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8').trim() === t.integrity
  ) {
    return dir;
  }
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, 'fetch-'));
  try {
    console.log(`fetching ${t.npmName}@${NODE_VERSION} (npm pack) into ${cache}`);
    const report = JSON.parse(
      execFileSync('npm', ['pack', `${t.npmName}@${NODE_VERSION}`, '--json', '--pack-destination', tmp], {
        cwd: tmp,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    )[0];
    const bytes = readFileSync(join(tmp, report.filename));
    const integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
    const shasum = createHash('sha1').update(bytes).digest('hex');
    // npm checks the tarball against the registry's metadata; check it against the pin as well.
    if (integrity !== t.integrity || shasum !== t.shasum || report.integrity !== t.integrity) {
      throw new Error(
        `${t.npmName}@${NODE_VERSION}: integrity ${integrity} / shasum ${shasum} is not the pinned ` +
          `${t.integrity} / ${t.shasum}`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const tgz = join(tmp, report.filename);
    execFileSync('tar', [
      '-xzf',
      tgz,
      '-C',
      dir,
      '--strip-components=1',
      'package/bin/node',
      'package/LICENSE',
    ]);
    writeFileSync(stamp, `${t.integrity}\n`);
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The pinned Node of this machine's architecture: it makes the blob (SEA wants the same version). */
export function hostNode(cache = CACHE_DIR) {
  const deb = debArchForNodeArch(process.arch);
  if (deb === undefined)
    throw new Error(`no pinned Node for this machine (${process.arch}) to make the blob`);
  const node = join(fetchNode(deb, cache), 'bin/node');
  const shown = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (shown !== `v${NODE_VERSION}`) throw new Error(`${node} is ${shown}, not v${NODE_VERSION}`);
  return node;
}

/**
 * `entry` bundled as one CommonJS file (Node 24 runs a CommonJS SEA main only; `mainFormat:
 * "module"` arrived in 25.x). `import.meta.url` becomes the executable's own file URL.
 */
export async function bundleCjs({ entry, outfile, version }) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: `node${NODE_VERSION.split('.')[0]}`,
    format: 'cjs',
    minify: true,
    legalComments: 'linked',
    define: { __AIRLIFT_VERSION__: JSON.stringify(version), 'import.meta.url': '__airliftSelfUrl' },
    banner: { js: 'var __airliftSelfUrl = require("node:url").pathToFileURL(process.execPath).href;' },
    logLevel: 'warning',
  });
  return outfile;
}

/** The SEA blob for `bundle`, made by `node` (the pinned one); its bytes. */
export function makeBlob({ node, bundle, blob, execArgv }) {
  const configPath = join(dirname(blob), `${blob.split('/').pop()}.sea-config.json`);
  writeFileSync(
    configPath,
    `${JSON.stringify(seaConfig({ main: bundle, output: blob, execArgv }), null, 2)}\n`,
  );
  execFileSync(node, ['--experimental-sea-config', configPath], { stdio: ['ignore', 'ignore', 'inherit'] });
  return readFileSync(blob);
}

/** The ELF header's machine, and the newest GLIBC/GLIBCXX/CXXABI versions the binary asks for. */
export function elfFacts(file) {
  const header = execFileSync('readelf', ['-h', file], { encoding: 'utf8' });
  const machine = /Machine:\s+(.+)/.exec(header)?.[1]?.trim();
  const needs = execFileSync('readelf', ['-V', '--wide', file], { encoding: 'utf8', maxBuffer: 2 ** 28 });
  const newest = {};
  for (const [, family, v] of needs.matchAll(/Name: (GLIBC|GLIBCXX|CXXABI)_([\d.]+)/g)) {
    if (newest[family] === undefined || compareVersions(v, newest[family]) > 0) newest[family] = v;
  }
  return { machine, newest };
}

/** Removes the debug symbols (about 18 MB of 126 MB); skipped with a warning when no strip fits. */
export function stripBinary(deb, file) {
  const t = NODE_TARGETS[deb];
  const strip = [...(t.nodeArch === process.arch ? ['strip'] : []), t.crossStrip, 'llvm-strip'].find(has);
  if (strip === undefined) {
    console.warn(`WARNING: no strip for ${deb} (llvm-strip or ${t.crossStrip}): node stays unstripped`);
    return;
  }
  execFileSync(strip, ['--strip-all', file]);
}

/**
 * `exe`: the pinned node for `deb`, stripped, checked (machine, and symbol versions within what
 * SEA_DEPENDS promises), with the blob injected by postject.
 */
export async function makeExecutable({ deb, blobBytes, exe, cache = CACHE_DIR }) {
  const t = NODE_TARGETS[deb];
  const nodeDir = fetchNode(deb, cache);
  mkdirSync(dirname(exe), { recursive: true });
  copyFileSync(join(nodeDir, 'bin/node'), exe);
  chmodSync(exe, 0o755);
  stripBinary(deb, exe);
  const { machine, newest } = elfFacts(exe);
  if (machine !== t.elfMachine) throw new Error(`${exe}: machine ${machine}, expected ${t.elfMachine}`);
  for (const [family, ceiling] of Object.entries(SEA_SYMBOL_CEILING)) {
    if (newest[family] !== undefined && compareVersions(newest[family], ceiling) > 0) {
      throw new Error(`${exe} needs ${family}_${newest[family]}: update SEA_DEPENDS (${SEA_DEPENDS})`);
    }
  }
  // postject (LIEF) prints "Can't find string offset for section name '.note'": harmless
  // (nodejs/postject#83).
  await inject(exe, SEA_RESOURCE, blobBytes, { sentinelFuse: SEA_FUSE });
  return { exe, nodeDir };
}

/**
 * How to run a binary of `deb` arch here: natively, under qemu-user-static (with an arm64 libc
 * under QEMU_LD_PREFIX), or not at all (`why` says what is missing).
 */
export function runner(deb) {
  const t = NODE_TARGETS[deb];
  if (t.nodeArch === process.arch) return { cmd: [], env: process.env };
  if (t.qemu === undefined || !has(t.qemu)) return { why: `${t.qemu ?? 'an emulator'} is not installed` };
  const prefix = process.env.QEMU_LD_PREFIX ?? t.qemuLdPrefix;
  if (!existsSync(join(prefix, t.loader)) && !existsSync(t.loader)) {
    return { why: `no ${deb} libc: set QEMU_LD_PREFIX (tried ${join(prefix, t.loader)})` };
  }
  return { cmd: [t.qemu], env: { ...process.env, QEMU_LD_PREFIX: prefix } };
}
