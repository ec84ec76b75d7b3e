/**
 * `doctor` checks of the machine the agent drives: Wi-Fi tooling, the interface, AP and AP+STA
 * support, services that would fight ours for the radio, Avahi. Stable ids; each failure says how to
 * fix it. Commands go through the runner (argument arrays, timeouts, no shell).
 */
import { access, constants } from 'node:fs/promises';
import type { AgentConfig } from '../../shared/agent-config';
import type { CommandRunner } from '../ports/command-runner';
import { findExecutable } from '../backends/select-backend';
import { parseIwCombinations } from '../../shared/linux-tools/iw';
import type { DoctorCheckFn, DoctorDeps, DoctorOutcome } from './doctor';

export interface SystemCheckDeps {
  runner: CommandRunner;
  /** Where interfaces live (tests point it elsewhere). */
  sysClassNet?: string;
  which?: (name: string) => Promise<string | undefined>;
}

const pass = (message: string): DoctorOutcome => ({ status: 'pass', message });
const warn = (message: string, fix: string): DoctorOutcome => ({ status: 'warn', message, fix });
const fail = (message: string, fix: string): DoctorOutcome => ({ status: 'fail', message, fix });

function configOf(deps: DoctorDeps): AgentConfig | undefined {
  return deps.config.ok ? deps.config.value : undefined;
}

/** "Supported interface modes" of `iw list` include AP. */
export function iwSupportsAp(iwList: string): boolean {
  const m = /Supported interface modes:\n((?:\s+\*.*\n)+)/.exec(iwList);
  return m?.[1]?.split('\n').some((l) => /^\s+\*\s+AP$/.test(l)) ?? false;
}

/** A valid interface combination lets an AP and a managed interface run together. */
export function iwSupportsApSta(iwList: string): boolean {
  return parseIwCombinations(iwList).concurrentApSta;
}

export function systemChecks(s: SystemCheckDeps): DoctorCheckFn[] {
  const which = s.which ?? findExecutable;
  const sysClassNet = s.sysClassNet ?? '/sys/class/net';
  let iwList: Promise<string | undefined> | undefined;
  const iw = () =>
    (iwList ??= which('iw').then(async (path) => {
      if (!path) return undefined;
      const r = await s.runner.run(path, ['list'], { timeoutMs: 5000 });
      return r.code === 0 ? r.stdout : undefined;
    }));

  return [
    {
      id: 'backend.present',
      async run(deps) {
        const want = configOf(deps)?.backend ?? 'auto';
        const nm = await which('nmcli');
        const wpa = (await which('wpa_supplicant')) && (await which('hostapd'));
        if (want === 'networkmanager' && !nm)
          return fail('backend is networkmanager but nmcli is missing', 'apt-get install network-manager');
        if (want === 'wpa_supplicant' && !wpa)
          return fail(
            'backend is wpa_supplicant but wpa_supplicant or hostapd is missing',
            'apt-get install wpasupplicant hostapd dnsmasq-base',
          );
        if (!nm && !wpa)
          return fail(
            'neither NetworkManager nor wpa_supplicant + hostapd is installed',
            'apt-get install network-manager (or wpasupplicant hostapd dnsmasq-base)',
          );
        return pass(nm ? 'NetworkManager (nmcli) present' : 'wpa_supplicant and hostapd present');
      },
    },
    {
      id: 'interface.present',
      async run(deps) {
        const ifname = configOf(deps)?.interfaces.wifi ?? 'wlan0';
        try {
          await access(`${sysClassNet}/${ifname}`, constants.F_OK);
          return pass(`Wi-Fi interface ${ifname} present`);
        } catch {
          return fail(
            `Wi-Fi interface ${ifname} not found`,
            'Set "interfaces.wifi" in /etc/airlift/agent.json to the device\'s Wi-Fi interface (ip link)',
          );
        }
      },
    },
    {
      id: 'ap.supported',
      async run() {
        const list = await iw();
        if (list === undefined)
          return warn(
            'cannot tell whether the radio supports AP mode (iw missing or failed)',
            'apt-get install iw',
          );
        return iwSupportsAp(list)
          ? pass('the radio supports AP mode')
          : fail(
              'the radio does not list AP mode',
              'This Wi-Fi chip cannot host the setup access point: use a supported adapter',
            );
      },
    },
    {
      id: 'apsta.supported',
      async run() {
        const list = await iw();
        if (list === undefined)
          return warn(
            'cannot tell whether the radio supports AP+STA (iw missing or failed)',
            'apt-get install iw',
          );
        return iwSupportsApSta(list)
          ? pass('the radio can keep the setup AP up while joining (AP+STA): results are reported on the AP')
          : warn(
              'no AP+STA: the setup AP goes down while the device joins and comes back with the reason on failure',
              'Nothing to fix; a radio with AP+STA reports results sooner',
            );
      },
    },
    {
      id: 'services.conflict',
      async run() {
        const systemctl = await which('systemctl');
        if (!systemctl) return pass('no systemd: no competing services to check');
        const enabled: string[] = [];
        for (const unit of ['dnsmasq.service', 'hostapd.service']) {
          const r = await s.runner.run(systemctl, ['is-enabled', unit], { timeoutMs: 5000 });
          if (r.stdout.trim() === 'enabled') enabled.push(unit);
        }
        return enabled.length === 0
          ? pass('no system-wide dnsmasq or hostapd competes for the radio')
          : fail(
              `${enabled.join(' and ')} enabled: they fight airliftd for the Wi-Fi interface`,
              `systemctl disable --now ${enabled.join(' ')}`,
            );
      },
    },
    {
      id: 'avahi.present',
      async run() {
        try {
          await access('/run/avahi-daemon/socket', constants.F_OK);
          return pass('avahi-daemon runs: advertising through it');
        } catch {
          return pass('no avahi-daemon: advertising with the embedded responder');
        }
      },
    },
  ];
}
