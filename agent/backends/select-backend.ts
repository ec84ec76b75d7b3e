/**
 * Chooses the radio backend from `config.backend`. `auto` picks NetworkManager when `nmcli` is
 * installed, else wpa_supplicant + hostapd (+ dnsmasq and a DHCP client). The backends register
 * themselves (agent/main.ts), so this selector imports neither; when no backend fits the machine,
 * the agent refuses to start with a clear BACKEND_UNAVAILABLE rather than pretend to drive a radio.
 */
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { AirliftError } from '../../shared/errors';
import type { AgentConfig } from '../../shared/agent-config';
import type { RadioPort } from '../ports/radio';
import type { CommandRunner } from '../ports/command-runner';
import { silentLogger, type Logger } from '../log';

const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export async function findExecutable(name: string): Promise<string | undefined> {
  for (const dir of SEARCH_PATH) {
    const path = `${dir}/${name}`;
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export type BackendKind = 'networkmanager' | 'wpa_supplicant';

/** Which backend `auto` would pick on this machine, from the tools present. */
export async function detectBackend(): Promise<BackendKind | undefined> {
  if (await findExecutable('nmcli')) return 'networkmanager';
  if ((await findExecutable('wpa_supplicant')) && (await findExecutable('hostapd'))) return 'wpa_supplicant';
  return undefined;
}

/** Registry filled by the backend modules; keeps this selector free of their imports. */
export type BackendFactory = (
  config: AgentConfig,
  runner: CommandRunner,
  logger: Logger,
) => Promise<RadioPort>;
const factories = new Map<BackendKind, BackendFactory>();

export function registerBackend(kind: BackendKind, factory: BackendFactory): void {
  factories.set(kind, factory);
}

export async function selectBackend(
  config: AgentConfig,
  runner: CommandRunner,
  logger: Logger = silentLogger,
): Promise<RadioPort> {
  const kind = config.backend === 'auto' ? await detectBackend() : config.backend;
  if (!kind) {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      'Neither NetworkManager (nmcli) nor wpa_supplicant + hostapd was found; install one or set "backend" in the config',
    );
  }
  const factory = factories.get(kind);
  if (!factory) {
    throw new AirliftError(
      'BACKEND_UNAVAILABLE',
      `The ${kind} backend is not available in this build of airliftd`,
    );
  }
  return factory(config, runner, logger.child({ backend: kind }));
}
