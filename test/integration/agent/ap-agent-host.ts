/**
 * Child of ap-listeners-netns.test.ts, run inside the device's network namespace: one lab device
 * whose sim AP puts its address on a real interface while it is up, serving the API on the LAN
 * address and on the AP address (and thingymcconfig there). Reports on stdout, one JSON object a
 * line: `ready`, every agent event (`agent`), every change of the setup AP (`ap`), the agent's log
 * lines about the setup AP (`log`). Commands on stdin: `{"cmd":"status"}`, `{"cmd":"stop"}`.
 *
 * Run: ip netns exec <ns> node --import tsx ap-agent-host.ts <apIfname> <lanHost> <lanPort> <apPort> <thingyPort>
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger } from '../../../agent/log';
import { startLabDevice } from '../../../lab/lab-device';
import { LAB_ID, LAB_SECRET } from '../../helpers/lab';

const [apIfname = 'eth0', lanHost = '0.0.0.0', lanPort = '4780', apPort = '8080', thingyPort = '1338'] =
  process.argv.slice(2);

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

// The agent's own log lines about the AP listeners, as events the test can wait for.
const logger = createLogger({
  level: 'debug',
  name: 'ap-agent-host',
  destination: {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; address?: string; port?: number; code?: string };
      if (entry.msg !== undefined && /setup AP/.test(entry.msg))
        emit({ ev: 'log', msg: entry.msg, address: entry.address, port: entry.port, code: entry.code });
    },
  },
});

const stateDir = mkdtempSync(join(tmpdir(), 'airlift-ap-netns-'));
const device = await startLabDevice({
  deviceId: LAB_ID,
  setupSecret: LAB_SECRET,
  timeScale: 0,
  stateDir,
  logger,
  listen: { host: lanHost, port: Number(lanPort) },
  // The address appears a moment after the AP reports up: the listener must retry the bind.
  setupApLink: { ifname: apIfname, apiPort: Number(apPort), addressDelayMs: 300 },
  config: {
    setup: { teardownDelayMs: 200, lingerSeconds: 0 },
    mdns: { mode: 'off' },
    compat: { thingymcconfig: { port: Number(thingyPort) } },
  },
});
const agent = device.running.agent;
agent.events.subscribe((e) =>
  emit({ ev: 'agent', type: e.type, ...(e.type === 'state' ? { state: e.state } : {}) }),
);
agent.setupApChanges.subscribe((ap) => emit({ ev: 'ap', ...ap }));
emit({ ev: 'ready', state: agent.state, ap: agent.setupApState() });

async function stop(): Promise<never> {
  await device.close();
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const command = JSON.parse(line) as { cmd: 'status' | 'stop' };
    if (command.cmd === 'status') emit({ ev: 'status', status: agent.status() });
    if (command.cmd === 'stop') void stop();
  })
  .on('close', () => void stop());
process.once('SIGTERM', () => void stop());
