/**
 * The .deb: built with dpkg-deb, inspected, installed into a scratch root, and its airliftctl run
 * there (doctor, provision-identity) with the system Node, no node_modules.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchConfig } from '../helpers/scratch-root';

const hasDpkg = spawnSync('dpkg-deb', ['--version']).status === 0;
if (!hasDpkg) console.warn('SKIPPING packaging: dpkg-deb is not installed');

describe.skipIf(!hasDpkg)('agent package (.deb)', () => {
  it('builds, lists the right files, and its airliftctl runs from a scratch root', () => {
    const work = mkdtempSync(join(tmpdir(), 'airlift-pkg-'));
    try {
      const deb = join(work, 'airlift-agent.deb');
      execFileSync(process.execPath, ['scripts/package-agent.mjs', deb], { stdio: 'pipe' });
      const info = execFileSync('dpkg-deb', ['--info', deb], { encoding: 'utf8' });
      expect(info).toContain('Package: airlift-agent');
      expect(info).toContain('Architecture: all');
      expect(info).toMatch(/Depends: nodejs \(>= 20\)/);
      expect(info).toContain('conffiles');
      const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
      for (const path of [
        './usr/lib/airlift/airliftd.js',
        './usr/lib/airlift/airliftctl.js',
        './usr/bin/airliftctl',
        './lib/systemd/system/airliftd.service',
        './etc/airlift/agent.json',
        './usr/lib/tmpfiles.d/airlift-agent.conf',
      ]) {
        expect(contents).toContain(path);
      }
      expect(contents).toMatch(/^drwxr-xr-x root\/root\s+0 \S+ \S+ \.\/$/m);

      const root = join(work, 'root');
      execFileSync('dpkg-deb', ['-x', deb, root]);
      const unit = readFileSync(join(root, 'lib/systemd/system/airliftd.service'), 'utf8');
      for (const line of [
        'Type=notify',
        'WatchdogSec=',
        'ProtectSystem=strict',
        'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW',
        'StateDirectoryMode=0700',
        'RestartPreventExitStatus=78',
        // The legacy sockets: reachable through the runtime directory, the host's /tmp visible.
        'RuntimeDirectoryMode=0751',
        'PrivateTmp=no',
        'Environment=TMPDIR=/run/airlift',
      ]) {
        expect(unit).toContain(line);
      }
      // The links that make netconnectd's and thingymcconfig's default paths work under the unit.
      const tmpfiles = readFileSync(join(root, 'usr/lib/tmpfiles.d/airlift-agent.conf'), 'utf8');
      expect(tmpfiles).toMatch(/^L \/run\/netconnectd\.sock - - - - \/run\/airlift\/netconnectd\.sock$/m);
      expect(tmpfiles).toMatch(
        /^L \/tmp\/thingymcconfig\.socket - - - - \/run\/airlift\/thingymcconfig\.socket$/m,
      );
      if (spawnSync('systemd-tmpfiles', ['--version']).status === 0) {
        const fake = join(work, 'tmpfiles-root');
        execFileSync('mkdir', ['-p', join(fake, 'run'), join(fake, 'tmp')]);
        execFileSync('systemd-tmpfiles', [
          `--root=${fake}`,
          '--create',
          join(root, 'usr/lib/tmpfiles.d/airlift-agent.conf'),
        ]);
        expect(readlinkSync(join(fake, 'run/netconnectd.sock'))).toBe('/run/airlift/netconnectd.sock');
      }
      expect(statSync(join(root, 'usr/bin/airliftctl')).mode & 0o111).not.toBe(0);

      // Run the packaged CLI against a config pointing into the scratch root.
      const config = scratchConfig(root, work);
      const ctl = (args: string[]) =>
        spawnSync(
          process.execPath,
          [join(root, 'usr/lib/airlift/airliftctl.js'), '--config', config, ...args],
          { encoding: 'utf8', cwd: work },
        );
      const before = ctl(['doctor', '--json']);
      const report = JSON.parse(before.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
      const ids = report.checks.map((c) => c.id);
      expect(ids).toEqual(
        expect.arrayContaining([
          'identity.provisioned',
          'state.dir',
          'clock.sane',
          'backend.present',
          'interface.present',
          'services.conflict',
        ]),
      );
      expect(report.checks.find((c) => c.id === 'identity.provisioned')?.status).toBe('fail');
      expect(before.status).toBe(1);

      const made = ctl(['provision-identity', '--iterations', '1000', '--json']);
      expect(made.status, made.stderr).toBe(0);
      const after = JSON.parse(ctl(['doctor', '--json']).stdout) as {
        checks: { id: string; status: string }[];
      };
      expect(after.checks.find((c) => c.id === 'identity.provisioned')?.status).toBe('pass');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
