/**
 * What every `airliftctl` command gets: the terminal, the global options, the agent's config
 * (read once, only when a command needs it) and a connection to the agent's control socket.
 */
import { readFile } from 'node:fs/promises';
import { AirliftError } from '../../shared/errors';
import { agentConfigSchema, defaultAgentConfig, type AgentConfig } from '../../shared/agent-config';
import { CONTROL_SOCKET_PATH } from '../../shared/protocol/control';
import { parseOrThrow } from '../../shared/validate';
import { errnoCode } from '../../platform/atomic-file';
import { ControlClient, type ControlClientOptions } from '../control/client';
import type { DoctorDeps } from '../control/doctor';

export const DEFAULT_CONFIG_PATH = '/etc/airlift/agent.json';

interface Writer {
  write(chunk: string): unknown;
}

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  /** Ends `events`. Default: SIGINT. */
  signal?: AbortSignal;
  /** Config read when `--config` is not given (if it exists). Default /etc/airlift/agent.json. */
  defaultConfigPath?: string;
}

/** The options every command takes (`airliftctl --socket … status`, or after the command). */
export interface GlobalOptions {
  socket?: string;
  config?: string;
  json?: boolean;
}

/** The command line itself was wrong: exit 2, with a pointer to `--help`. */
export class UsageError extends Error {}

/** The agent's config as read: a valid one, or why not (doctor reports it; other commands refuse). */
export type ConfigResult = DoctorDeps['config'];

export interface CliContext {
  io: CliIo;
  /** The config named by `--config`, else the default file when present, else the defaults. */
  loadConfig(g: GlobalOptions): Promise<ConfigResult>;
  /** The same, refusing an unreadable or invalid config (INVALID_CONFIG). */
  requireConfig(g: GlobalOptions): Promise<AgentConfig>;
  /** Where the agent listens: `--socket`, else the config's `control.socket`. */
  socketPath(g: GlobalOptions): Promise<string>;
  /** Run `fn` with a connected client; always closes it. */
  withClient<T>(
    g: GlobalOptions,
    fn: (client: ControlClient) => Promise<T>,
    options?: ControlClientOptions,
  ): Promise<T>;
}

export function cliContext(io: CliIo): CliContext {
  let configCache: ConfigResult | undefined;
  const ctx: CliContext = {
    io,
    loadConfig: async (g) => {
      configCache ??= await readConfig(g.config, io.defaultConfigPath ?? DEFAULT_CONFIG_PATH);
      return configCache;
    },
    requireConfig: async (g) => {
      const c = await ctx.loadConfig(g);
      if (!c.ok) throw new AirliftError('INVALID_CONFIG', c.error);
      return c.value;
    },
    socketPath: async (g) => g.socket ?? (await ctx.requireConfig(g)).control.socket,
    withClient: async (g, fn, options = {}) => {
      const client = await ControlClient.connect(await ctx.socketPath(g), { timeoutMs: 30_000, ...options });
      try {
        return await fn(client);
      } finally {
        client.close();
      }
    },
  };
  return ctx;
}

/** The socket to try when the config may be broken (doctor still runs then). */
export function socketOrDefault(g: GlobalOptions, config: ConfigResult): string {
  return g.socket ?? (config.ok ? config.value.control.socket : CONTROL_SOCKET_PATH);
}

async function readConfig(explicit: string | undefined, fallback: string): Promise<ConfigResult> {
  const source = explicit ?? fallback;
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    // The default file is optional; one named on the command line is not.
    if (explicit === undefined && errnoCode(err) === 'ENOENT')
      return { ok: true, value: defaultAgentConfig() };
    return { ok: false, error: `Cannot read ${source}: ${errnoCode(err) ?? 'error'}`, source };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `${source} is not valid JSON`, source };
  }
  try {
    return { ok: true, value: parseOrThrow(agentConfigSchema, json, `config ${source}`), source };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : `Invalid config ${source}`, source };
  }
}
