import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAgentConfig } from '../../../../shared/agent-config';
import type { CommandResult, CommandRunner } from '../../../../agent/ports/command-runner';
import { iwSupportsAp, iwSupportsApSta, systemChecks } from '../../../../agent/control/system-checks';
import { runDoctor } from '../../../../agent/control/doctor';

const fixture = (name: string) => readFile(join(__dirname, '../../../fixtures/iw-doctor', name), 'utf8');
const ok = (stdout: string): CommandResult => ({
  code: 0,
  signal: null,
  stdout,
  stderr: '',
  timedOut: false,
  durationMs: 1,
});

function fakeRunner(answers: Record<string, string>): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run(file, args) {
      calls.push([file, ...args]);
      const key = [file.split('/').pop(), ...args].join(' ');
      return Promise.resolve(ok(answers[key] ?? ''));
    },
  };
}

describe('iw list parsing', () => {
  it('finds AP mode and an AP+STA combination on a Raspberry Pi (brcmfmac)', async () => {
    const text = await fixture('brcmfmac-pi.txt');
    expect(iwSupportsAp(text)).toBe(true);
    expect(iwSupportsApSta(text)).toBe(true);
  });
  it('reports neither on a managed-only radio', async () => {
    const text = await fixture('no-ap.txt');
    expect(iwSupportsAp(text)).toBe(false);
    expect(iwSupportsApSta(text)).toBe(false);
  });
});

describe('system doctor checks', () => {
  it('passes on a good machine and fails with fix-it text on conflicting services', async () => {
    const sys = await mkdtemp(join(tmpdir(), 'airlift-sys-'));
    try {
      await mkdir(join(sys, 'wlan0'));
      const iw = await fixture('brcmfmac-pi.txt');
      const present = new Set(['nmcli', 'iw', 'systemctl']);
      const which = (name: string) => Promise.resolve(present.has(name) ? `/usr/bin/${name}` : undefined);
      const deps = {
        config: { ok: true as const, value: defaultAgentConfig({ stateDir: join(sys, 'state') }) },
        stateDir: join(sys, 'state'),
        socketPath: join(sys, 'agent.sock'),
      };
      const good = await runDoctor(
        deps,
        systemChecks({ runner: fakeRunner({ 'iw list': iw }), sysClassNet: sys, which }),
      );
      expect(Object.fromEntries(good.checks.map((c) => [c.id, c.status]))).toEqual({
        'backend.present': 'pass',
        'interface.present': 'pass',
        'ap.supported': 'pass',
        'apsta.supported': 'pass',
        'services.conflict': 'pass',
        'avahi.present': 'pass',
      });
      const runner = fakeRunner({ 'iw list': iw, 'systemctl is-enabled dnsmasq.service': 'enabled\n' });
      const bad = await runDoctor(deps, systemChecks({ runner, sysClassNet: join(sys, 'none'), which }));
      const byId = new Map(bad.checks.map((c) => [c.id, c]));
      expect(bad.ok).toBe(false);
      expect(byId.get('services.conflict')).toMatchObject({
        status: 'fail',
        fix: 'systemctl disable --now dnsmasq.service',
      });
      expect(byId.get('interface.present')?.status).toBe('fail');
      // Argument arrays only.
      expect(runner.calls).toContainEqual(['/usr/bin/systemctl', 'is-enabled', 'dnsmasq.service']);
    } finally {
      await rm(sys, { recursive: true, force: true });
    }
  });

  it('fails backend.present when no Wi-Fi stack is installed', async () => {
    const [check] = systemChecks({ runner: fakeRunner({}), which: () => Promise.resolve(undefined) });
    const r = await check?.run({
      config: { ok: true, value: defaultAgentConfig() },
      stateDir: '/x',
      socketPath: '/x',
    });
    expect(r).toMatchObject({ status: 'fail' });
  });
});
