/**
 * Runs the link probe where it is started (inside a network namespace, via `ip netns exec`, which
 * also mounts that namespace's /sys) and prints what it finds as one JSON line.
 * Usage: links-probe-child.ts <resolv.conf> [ethernet interface]
 */
import { ExecRunner } from '../../../../platform/commands';
import { LinkProbe } from '../../../../agent/system/links';

const [resolvConfPath = '/etc/resolv.conf', ethernet] = process.argv.slice(2);
const runner = new ExecRunner({ timeoutMs: 5000 });
const configured = new LinkProbe({ runner, resolvConfPath, ...(ethernet ? { ethernet } : {}) });
const found = new LinkProbe({ runner, resolvConfPath });
const out = {
  configured: await configured.state('ethernet'),
  autodetected: (await found.interfaceFor('ethernet')) ?? null,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
