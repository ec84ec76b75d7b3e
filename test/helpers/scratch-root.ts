/**
 * A config for running a package's airliftctl from a scratch root (the unpacked .deb): the packaged
 * conffile with state and control socket moved into the test's own directories.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function scratchConfig(root: string, work: string): string {
  const config = join(work, 'agent.json');
  const base = JSON.parse(readFileSync(join(root, 'etc/airlift/agent.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  writeFileSync(
    config,
    JSON.stringify({
      ...base,
      stateDir: join(root, 'var/lib/airlift'),
      control: { socket: join(work, 'agent.sock') },
    }),
  );
  return config;
}
