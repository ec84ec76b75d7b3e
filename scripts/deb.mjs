// The airlift-agent .deb, whatever runs the agent: shared by `npm run package:agent` (architecture
// `all`, the system Node) and `npm run package:agent:sea` (amd64/arm64, a single executable).
// Both carry the same unit (adapted for the executable), conffile, maintainer scripts and portal.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEB_PACKAGE = 'airlift-agent';
export const CONFFILE = '/etc/airlift/agent.json';

/** The DEBIAN/control text. `depends` may be empty (the self-contained packages need only libc). */
export function controlFile({ version, architecture, depends }) {
  return [
    `Package: ${DEB_PACKAGE}`,
    `Version: ${version}`,
    `Architecture: ${architecture}`,
    'Maintainer: Airlift <maintainers@users.noreply.example>',
    ...(depends ? [`Depends: ${depends}`] : []),
    'Recommends: network-manager | wpasupplicant, iw, avahi-daemon, avahi-utils',
    'Suggests: hostapd, dnsmasq-base',
    'Section: net',
    'Priority: optional',
    'Description: Airlift agent: puts headless devices on Wi-Fi',
    ' Keeps the device connected, falls back to a setup access point, and serves a',
    ' secure provisioning API (SPAKE2+) for the Airlift station and a captive portal.',
    '',
  ].join('\n');
}

/** The package file name Debian tools expect: package_version_arch.deb. */
export function debFileName(version, architecture) {
  return `${DEB_PACKAGE}_${version}_${architecture}.deb`;
}

/**
 * Files every variant carries: the captive portal (built by scripts/build.mjs into dist/portal),
 * the unit (its text: the executable variant rewrites ExecStart), the conffile and the maintainer
 * scripts. Entries: `{ from, to, mode }`, `{ text, to, mode }` or `{ link, to }`.
 */
export function commonFiles({ unitText = readFileSync('packaging/airliftd.service', 'utf8') } = {}) {
  return [
    { from: 'dist/portal/index.html', to: 'usr/lib/airlift/portal/index.html', mode: 0o644 },
    { from: 'dist/portal/app.js', to: 'usr/lib/airlift/portal/app.js', mode: 0o644 },
    { text: unitText, to: 'lib/systemd/system/airliftd.service', mode: 0o644 },
    { from: 'packaging/agent.json', to: CONFFILE.slice(1), mode: 0o644 },
    { from: 'packaging/deb/postinst', to: 'DEBIAN/postinst', mode: 0o755 },
    { from: 'packaging/deb/prerm', to: 'DEBIAN/prerm', mode: 0o755 },
  ];
}

/** Lays `files` out in a scratch root and runs dpkg-deb; the result is written to `out`. */
export function buildDeb({ out, version, architecture, depends, files }) {
  const root = mkdtempSync(join(tmpdir(), 'airlift-deb-'));
  chmodSync(root, 0o755); // mkdtemp makes it 0700; it becomes the package's /
  try {
    for (const f of files) {
      const to = join(root, f.to);
      mkdirSync(join(to, '..'), { recursive: true });
      if ('link' in f) {
        symlinkSync(f.link, to);
        continue;
      }
      if ('text' in f) writeFileSync(to, f.text);
      else copyFileSync(f.from, to);
      chmodSync(to, f.mode);
    }
    writeFileSync(join(root, 'DEBIAN/conffiles'), `${CONFFILE}\n`);
    writeFileSync(join(root, 'DEBIAN/control'), controlFile({ version, architecture, depends }));
    mkdirSync(join(out, '..'), { recursive: true });
    execFileSync('dpkg-deb', ['--build', '--root-owner-group', root, out], { stdio: 'inherit' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}
