/**
 * The pure parts of the self-contained packages (scripts/package-agent-sea.mjs, decision 0009): the
 * program picked by the executable's name, the sea-config, the unit made from the one in packaging/,
 * and the control fields. Nothing here downloads or builds.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { pickProgram, programName } from '../../../scripts/sea/dispatch.mjs';
import {
  NODE_TARGETS,
  NODE_VERSION,
  SEA_BINARY,
  compareVersions,
  debArchForNodeArch,
  parseArches,
  seaConfig,
  seaUnit,
} from '../../../scripts/sea/config.mjs';
import { commonFiles, controlFile, debFileName } from '../../../scripts/deb.mjs';

describe('one executable, two programs', () => {
  it('picks the program by the name it was started under', () => {
    expect(pickProgram('/usr/bin/airliftctl', ['doctor', '--json'])).toEqual({
      program: 'airliftctl',
      args: ['doctor', '--json'],
    });
    expect(pickProgram('airliftctl', [])).toEqual({ program: 'airliftctl', args: [] });
    expect(pickProgram('/usr/lib/airlift/airliftd', ['--config', '/etc/airlift/agent.json'])).toEqual({
      program: 'airliftd',
      args: ['--config', '/etc/airlift/agent.json'],
    });
    // Under its own name, a first argument that names a program is just an argument.
    expect(pickProgram('./airliftd', ['airliftctl'])).toEqual({ program: 'airliftd', args: ['airliftctl'] });
  });

  it('takes the program from the first argument under any other name', () => {
    expect(pickProgram('/opt/x/airlift-agent', ['airliftctl', 'status'])).toEqual({
      program: 'airliftctl',
      args: ['status'],
    });
    expect(pickProgram('node-sea', ['airliftd', '--version'])).toEqual({
      program: 'airliftd',
      args: ['--version'],
    });
  });

  it('refuses to guess, and says how to start it', () => {
    const r = pickProgram('/tmp/renamed', ['doctor']);
    expect(r.program).toBeUndefined();
    expect(r).toHaveProperty('message', expect.stringContaining('airliftd or airliftctl'));
    expect(pickProgram(undefined, []).program).toBeUndefined();
    expect(pickProgram('airliftctl2', []).program).toBeUndefined();
  });

  it('reads the last path segment only', () => {
    expect(programName('/usr/bin/airliftctl')).toBe('airliftctl');
    expect(programName('airliftd')).toBe('airliftd');
    expect(programName('')).toBe('');
  });
});

describe('sea-config', () => {
  it('turns code cache and snapshot off so one blob fits every architecture', () => {
    const c = seaConfig({
      main: '/b/airlift-sea.cjs',
      output: '/b/airlift-sea.blob',
      execArgv: ['--max-semi-space-size=2'],
    });
    expect(c).toEqual({
      main: '/b/airlift-sea.cjs',
      output: '/b/airlift-sea.blob',
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
      execArgv: ['--max-semi-space-size=2'],
      execArgvExtension: 'env',
    });
    expect(seaConfig({ main: 'm', output: 'o' }).execArgv).toEqual([]);
  });

  it('pins Node 24 for amd64 and arm64, by integrity, and nothing for armhf', () => {
    expect(NODE_VERSION).toMatch(/^24\.\d+\.\d+$/);
    expect(Object.keys(NODE_TARGETS)).toEqual(['amd64', 'arm64']);
    for (const t of Object.values(NODE_TARGETS)) {
      expect(t.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      expect(t.shasum).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(debArchForNodeArch('x64')).toBe('amd64');
    expect(debArchForNodeArch('arm64')).toBe('arm64');
    expect(debArchForNodeArch('arm')).toBeUndefined();
    expect(parseArches('arm64, amd64,arm64')).toEqual(['arm64', 'amd64']);
    expect(() => parseArches('armhf')).toThrow(/use the `all` package/);
    expect(() => parseArches('')).toThrow(/at least one/);
  });

  it('compares symbol versions numerically', () => {
    expect(compareVersions('2.28', '2.28')).toBe(0);
    expect(compareVersions('3.4.9', '3.4.21')).toBeLessThan(0);
    expect(compareVersions('2.34', '2.28')).toBeGreaterThan(0);
    expect(compareVersions('1.3', '1.3.0')).toBe(0);
  });
});

describe('the unit of the self-contained package', () => {
  const source = readFileSync('packaging/airliftd.service', 'utf8');

  it('runs the executable, with the node flags moved into it, and is otherwise the same unit', () => {
    const { unit, execArgv } = seaUnit(source);
    expect(execArgv).toEqual(['--max-semi-space-size=2']);
    expect(unit).toContain(`ExecStart=${SEA_BINARY} --config /etc/airlift/agent.json\n`);
    expect(unit).not.toContain('/usr/bin/node');
    const rest = (text: string) =>
      text.split('\n').filter((l) => !l.startsWith('ExecStart=') && !l.startsWith('#'));
    expect(rest(unit)).toEqual(rest(source));
  });

  it('refuses a unit it does not understand rather than guessing', () => {
    expect(() => seaUnit('[Service]\n')).toThrow(/exactly one ExecStart/);
    expect(() => seaUnit('ExecStart=/usr/bin/node /usr/lib/airlift/airliftd.js\nExecStart=/x\n')).toThrow(
      /exactly one/,
    );
    expect(() => seaUnit('ExecStart=/usr/local/bin/node /usr/lib/airlift/airliftd.js\n')).toThrow(/is not/);
    expect(() => seaUnit('ExecStart=/usr/bin/node -r x /usr/lib/airlift/airliftd.js\n')).toThrow(
      /not a node flag/,
    );
    expect(seaUnit('ExecStart=/usr/bin/node /usr/lib/airlift/airliftd.js\n').execArgv).toEqual([]);
  });
});

describe('control fields and shared files', () => {
  it('depends on nodejs only for the `all` package', () => {
    const all = controlFile({ version: '1.2.3', architecture: 'all', depends: 'nodejs (>= 20)' });
    expect(all).toContain('Architecture: all\n');
    expect(all).toContain('Depends: nodejs (>= 20)\n');
    const arm = controlFile({ version: '1.2.3', architecture: 'arm64', depends: 'libc6 (>= 2.28)' });
    expect(arm).toContain('Package: airlift-agent\nVersion: 1.2.3\nArchitecture: arm64\n');
    expect(arm).not.toContain('nodejs');
    expect(controlFile({ version: '1', architecture: 'amd64' })).not.toContain('Depends:');
    expect(debFileName('0.1.0', 'amd64')).toBe('airlift-agent_0.1.0_amd64.deb');
  });

  it('every variant carries the unit, the conffile, the maintainer scripts and the portal', () => {
    const files = commonFiles({ unitText: 'X' });
    expect(files.map((f) => f.to).sort()).toEqual([
      'DEBIAN/postinst',
      'DEBIAN/prerm',
      'etc/airlift/agent.json',
      'lib/systemd/system/airliftd.service',
      'usr/lib/airlift/portal/app.js',
      'usr/lib/airlift/portal/index.html',
    ]);
    expect(files.find((f) => f.to.endsWith('.service'))).toMatchObject({ text: 'X' });
  });
});
