/**
 * Where the station keeps its state on each OS: job journals, adapter locks, and the station
 * service's profiles and settings. One place, so the CLI, the web host and the desktop app find the
 * same jobs and honour the same locks.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** `~/.local/state/airlift`, `%LOCALAPPDATA%\Airlift`, `~/Library/Application Support/Airlift`. */
export function stationStateDir(
  env: Env = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env['AIRLIFT_STATE_DIR']) return env['AIRLIFT_STATE_DIR'];
  if (platform === 'win32')
    return join(env['LOCALAPPDATA'] ?? join(homedir(), 'AppData', 'Local'), 'Airlift');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Airlift');
  return join(env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state'), 'airlift');
}

export function defaultJobsDir(env: Env = process.env, platform: NodeJS.Platform = process.platform): string {
  return env['AIRLIFT_JOBS_DIR'] || join(stationStateDir(env, platform), 'jobs');
}

/** Adapter locks are per machine, not per jobs directory: a CLI with --jobs-dir still meets the app's. */
export function defaultLocksDir(
  env: Env = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  return env['AIRLIFT_LOCKS_DIR'] || join(stationStateDir(env, platform), 'locks');
}
