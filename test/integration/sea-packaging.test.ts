/**
 * The self-contained packages of decision 0009, once built (`npm run package:agent:sea`: it fetches
 * ~100 MB of Node, so `npm test` never builds them). Inspected with dpkg-deb, unpacked into a
 * scratch root, and the amd64 executable run there as airliftctl (doctor, provision-identity) with
 * no Node involved; the arm64 one runs under qemu-user-static when that and an arm64 libc are here.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_TARGETS } from '../../scripts/sea/config.mjs';
import { scratchConfig } from '../helpers/scratch-root';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const debOf = (arch: string) => `dist/airlift-agent_${version}_${arch}.deb`;
const hasDpkg = spawnSync('dpkg-deb', ['--version']).status === 0;
const amd64 = debOf('amd64');
const arm64 = debOf('arm64');
const canRunAmd64 = process.arch === 'x64';
const amd64Why = !hasDpkg
  ? 'dpkg-deb is not installed'
  : !existsSync(amd64)
    ? `${amd64} is not built (run \`npm run package:agent:sea\`)`
    : !canRunAmd64
      ? 'this machine cannot run amd64'
      : undefined;
if (amd64Why) console.warn(`SKIPPING sea packaging (amd64): ${amd64Why}`);

const t = NODE_TARGETS.arm64;
const qemuPrefix = process.env.QEMU_LD_PREFIX ?? t.qemuLdPrefix ?? '';
const arm64Why = !hasDpkg
  ? 'dpkg-deb is not installed'
  : !existsSync(arm64)
    ? `${arm64} is not built (run \`npm run package:agent:sea\`)`
    : process.arch === 'arm64'
      ? undefined
      : spawnSync(t.qemu ?? 'qemu-aarch64-static', ['--version']).status !== 0
        ? 'qemu-user-static is not installed'
        : !existsSync(join(qemuPrefix, t.loader))
          ? `no arm64 libc under QEMU_LD_PREFIX (${join(qemuPrefix, t.loader)} is missing)`
          : undefined;
if (arm64Why) console.warn(`SKIPPING sea packaging (arm64): ${arm64Why}`);

function unpack(deb: string, work: string): string {
  const root = join(work, 'root');
  execFileSync('dpkg-deb', ['-x', deb, root]);
  return root;
}

describe.skipIf(amd64Why !== undefined)(
  `self-contained package (amd64)${amd64Why ? ` — SKIPPED: ${amd64Why}` : ''}`,
  () => {
    it('has no nodejs dependency, one executable plus a symlink, and the shared files', () => {
      const info = execFileSync('dpkg-deb', ['--info', amd64], { encoding: 'utf8' });
      expect(info).toContain('Package: airlift-agent');
      expect(info).toContain('Architecture: amd64');
      expect(info).not.toMatch(/nodejs/);
      expect(info).toContain('conffiles');
      const contents = execFileSync('dpkg-deb', ['--contents', amd64], { encoding: 'utf8' });
      for (const path of [
        './usr/lib/airlift/airliftd',
        './usr/bin/airliftctl -> ../lib/airlift/airliftd',
        './usr/lib/airlift/portal/index.html',
        './usr/lib/airlift/portal/app.js',
        './lib/systemd/system/airliftd.service',
        './etc/airlift/agent.json',
        './usr/share/doc/airlift-agent/node.LICENSE',
      ]) {
        expect(contents).toContain(path);
      }
      expect(contents).not.toMatch(/airlift(d|ctl)\.js/); // no bundles for a system Node
    });

    it('runs as airliftd and as airliftctl from a scratch root, without Node', () => {
      const work = mkdtempSync(join(tmpdir(), 'airlift-sea-'));
      try {
        const root = unpack(amd64, work);
        const unit = readFileSync(join(root, 'lib/systemd/system/airliftd.service'), 'utf8');
        expect(unit).toContain('ExecStart=/usr/lib/airlift/airliftd --config /etc/airlift/agent.json');
        expect(unit).toContain('Type=notify');
        expect(lstatSync(join(root, 'usr/bin/airliftctl')).isSymbolicLink()).toBe(true);
        expect(readlinkSync(join(root, 'usr/bin/airliftctl'))).toBe('../lib/airlift/airliftd');

        const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }; // no Node needed: nothing else passed
        const d = spawnSync(join(root, 'usr/lib/airlift/airliftd'), ['--version'], { encoding: 'utf8', env });
        expect(d.stdout.trim(), d.stderr).toBe(version);

        const config = scratchConfig(root, work);
        const ctl = (args: string[]) =>
          spawnSync(join(root, 'usr/bin/airliftctl'), ['--config', config, ...args], {
            encoding: 'utf8',
            cwd: work,
            env,
          });
        const before = ctl(['doctor', '--json']);
        const report = JSON.parse(before.stdout) as { checks: { id: string; status: string }[] };
        expect(report.checks.map((c) => c.id)).toEqual(
          expect.arrayContaining(['identity.provisioned', 'state.dir', 'clock.sane', 'backend.present']),
        );
        expect(report.checks.find((c) => c.id === 'identity.provisioned')?.status).toBe('fail');
        expect(before.status).toBe(1);
        const made = ctl(['provision-identity', '--iterations', '1000', '--json']);
        expect(made.status, made.stderr).toBe(0);
        const after = JSON.parse(ctl(['doctor', '--json']).stdout) as {
          checks: { id: string; status: string }[];
        };
        expect(after.checks.find((c) => c.id === 'identity.provisioned')?.status).toBe('pass');

        // Under a name that is neither program: a usage error that says what to do.
        const odd = spawnSync(join(root, 'usr/lib/airlift/airliftd'), [], {
          encoding: 'utf8',
          env,
          argv0: 'renamed',
        });
        expect(odd.status).toBe(2);
        expect(odd.stderr).toContain('airliftd or airliftctl');
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }, 60_000);
  },
);

describe.skipIf(arm64Why !== undefined)(
  `self-contained package (arm64)${arm64Why ? ` — SKIPPED: ${arm64Why}` : ''}`,
  () => {
    it('is an arm64 package whose executable runs (under qemu-user-static here)', () => {
      const info = execFileSync('dpkg-deb', ['--info', arm64], { encoding: 'utf8' });
      expect(info).toContain('Architecture: arm64');
      expect(info).not.toMatch(/nodejs/);
      const work = mkdtempSync(join(tmpdir(), 'airlift-sea-arm64-'));
      try {
        const root = unpack(arm64, work);
        const exe = join(root, 'usr/lib/airlift/airliftd');
        expect(execFileSync('readelf', ['-h', exe], { encoding: 'utf8' })).toMatch(/Machine:\s+AArch64/);
        const [cmd, ...pre] = process.arch === 'arm64' ? [exe] : [t.qemu ?? 'qemu-aarch64-static', exe];
        const env = { ...process.env, QEMU_LD_PREFIX: qemuPrefix };
        const v = spawnSync(cmd, [...pre, '--version'], { encoding: 'utf8', env });
        expect(v.stdout.trim(), v.stderr).toBe(version);
        const ctl = spawnSync(
          cmd,
          [...(process.arch === 'arm64' ? [] : ['-0', 'airliftctl']), ...pre, '--help'],
          {
            encoding: 'utf8',
            env,
          },
        );
        expect(ctl.stdout).toContain('Usage: airliftctl');
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }, 60_000);
  },
);
