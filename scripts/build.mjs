// Bundles the agent (and the lab device used by the benchmarks) into single files that run with
// plain `node` and no node_modules: dist/agent/airliftd.js, dist/agent/airliftctl.js, dist/lab/device.js,
// and the network lab's dist/lab/netns-device.js and dist/lab/netns-station.js.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

const entries = [
  { in: 'agent/main.ts', out: 'dist/agent/airliftd.js' },
  { in: 'agent/cli/airliftctl.ts', out: 'dist/agent/airliftctl.js' },
  { in: 'main/cli/airlift-bin.ts', out: 'dist/main/airlift.js' },
  { in: 'lab/device-cli.ts', out: 'dist/lab/device.js' },
  // The network lab's agent (the real daemon around the lab's radio backend) and station (the real
  // airlift CLI around the lab's Wi-Fi adapters): bundles of their own, never inside airliftd.js.
  { in: 'lab/netns-device.ts', out: 'dist/lab/netns-device.js' },
  { in: 'lab/netns-station.ts', out: 'dist/lab/netns-station.js' },
].filter((e) => existsSync(e.in));

for (const e of entries) {
  await build({
    entryPoints: [e.in],
    outfile: e.out,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    define: { __AIRLIFT_VERSION__: JSON.stringify(pkg.version) },
    // CommonJS dependencies (ciao, pino) call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __airliftRequire } from 'node:module'; const require = __airliftRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  const { size } = await stat(e.out);
  console.log(`${e.out}  ${(size / 1024).toFixed(0)} KiB`);
}

// The captive portal's page (served by the agent from dist/portal, next to its bundle).
const { buildPortalPage } = await import('../agent/portal/build-page.mjs');
await buildPortalPage({ outdir: 'dist/portal' });
console.log('dist/portal/');
