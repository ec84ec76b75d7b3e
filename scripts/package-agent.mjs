// `npm run package:agent`: a .deb for all architectures that runs on the system Node (>= 20):
// the bundled agent and airliftctl, the systemd unit, the conffile /etc/airlift/agent.json.
import { execFileSync } from 'node:child_process';
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const version = pkg.version;
const out = process.argv[2] ?? `dist/airlift-agent_${version}_all.deb`;
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });

const root = mkdtempSync(join(tmpdir(), 'airlift-deb-'));
chmodSync(root, 0o755); // mkdtemp makes it 0700; it becomes the package's /
const put = (from, to, mode) => {
  mkdirSync(join(root, to, '..'), { recursive: true });
  copyFileSync(from, join(root, to));
  chmodSync(join(root, to), mode);
};
try {
  put('dist/agent/airliftd.js', 'usr/lib/airlift/airliftd.js', 0o644);
  put('dist/agent/airliftctl.js', 'usr/lib/airlift/airliftctl.js', 0o644);
  put('packaging/deb/airliftctl', 'usr/bin/airliftctl', 0o755);
  put('dist/portal/index.html', 'usr/lib/airlift/portal/index.html', 0o644);
  put('dist/portal/app.js', 'usr/lib/airlift/portal/app.js', 0o644);
  // Third-party licences of what the bundles contain (esbuild collects them).
  for (const f of ['airliftd.js.LEGAL.txt', 'airliftctl.js.LEGAL.txt']) {
    if (existsSync(join('dist/agent', f)))
      put(join('dist/agent', f), join('usr/share/doc/airlift-agent', f), 0o644);
  }
  put('packaging/airliftd.service', 'lib/systemd/system/airliftd.service', 0o644);
  put('packaging/agent.json', 'etc/airlift/agent.json', 0o644);
  put('packaging/deb/postinst', 'DEBIAN/postinst', 0o755);
  put('packaging/deb/prerm', 'DEBIAN/prerm', 0o755);
  writeFileSync(join(root, 'DEBIAN/conffiles'), '/etc/airlift/agent.json\n');
  writeFileSync(
    join(root, 'DEBIAN/control'),
    [
      'Package: airlift-agent',
      `Version: ${version}`,
      'Architecture: all',
      'Maintainer: Airlift <maintainers@users.noreply.example>',
      'Depends: nodejs (>= 20)',
      'Recommends: network-manager | wpasupplicant, iw, avahi-daemon',
      'Suggests: hostapd, dnsmasq-base',
      'Section: net',
      'Priority: optional',
      'Description: Airlift agent: puts headless devices on Wi-Fi',
      ' Keeps the device connected, falls back to a setup access point, and serves a',
      ' secure provisioning API (SPAKE2+) for the Airlift station and a captive portal.',
      '',
    ].join('\n'),
  );
  mkdirSync(join(out, '..'), { recursive: true });
  execFileSync('dpkg-deb', ['--build', '--root-owner-group', root, out], { stdio: 'inherit' });
  console.log(out);
} finally {
  rmSync(root, { recursive: true, force: true });
}
