// `npm run package:agent`: a .deb for all architectures that runs on the system Node (>= 20):
// the bundled agent and airliftctl, the systemd unit, the conffile /etc/airlift/agent.json.
// (`npm run package:agent:sea` builds the self-contained amd64/arm64 packages: decision 0009.)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDeb, commonFiles, debFileName } from './deb.mjs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const version = pkg.version;
const out = process.argv[2] ?? join('dist', debFileName(version, 'all'));
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });

buildDeb({
  out,
  version,
  architecture: 'all',
  depends: 'nodejs (>= 20)',
  files: [
    { from: 'dist/agent/airliftd.js', to: 'usr/lib/airlift/airliftd.js', mode: 0o644 },
    { from: 'dist/agent/airliftctl.js', to: 'usr/lib/airlift/airliftctl.js', mode: 0o644 },
    { from: 'packaging/deb/airliftctl', to: 'usr/bin/airliftctl', mode: 0o755 },
    // Third-party licences of what the bundles contain (esbuild collects them).
    ...['airliftd.js.LEGAL.txt', 'airliftctl.js.LEGAL.txt']
      .filter((f) => existsSync(join('dist/agent', f)))
      .map((f) => ({ from: join('dist/agent', f), to: join('usr/share/doc/airlift-agent', f), mode: 0o644 })),
    // The legacy sockets' well-known paths, linked into the runtime directory (compat surfaces).
    {
      from: 'packaging/tmpfiles.d/airlift-agent.conf',
      to: 'usr/lib/tmpfiles.d/airlift-agent.conf',
      mode: 0o644,
    },
    ...commonFiles(),
  ],
});
console.log(out);
