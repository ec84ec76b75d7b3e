/**
 * Child of compat-unit-sandbox.test.ts, run inside a mount namespace laid out as the shipped unit
 * sees the machine (/run and /tmp read-only, /run/airlift writable, the package's tmpfiles.d links,
 * the unit's umask and capabilities): one lab device with the compat surfaces the config names, at
 * the paths their clients use. Reports on stdout, one JSON object a line: `ready` (where each
 * surface listens, or that it did not start), the agent's error lines (`log`). Stops when stdin
 * closes.
 *
 * Run (from the checkout): node --import tsx test/integration/agent/unit-sandbox-host.ts <stateDir> <compat config as JSON>
 */
import { createInterface } from 'node:readline';
import { createLogger } from '../../../agent/log';
import { startLabDevice } from '../../../lab/lab-device';
import type { AgentConfigInput } from '../../../shared/agent-config';
import { LAB_ID, LAB_SECRET } from '../../helpers/lab';

const [stateDir = '', compatJson = '{}'] = process.argv.slice(2);
const compat = JSON.parse(compatJson) as AgentConfigInput['compat'];

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

// What the agent logs at error level is what a maker would read in the journal.
const logger = createLogger({
  level: 'error',
  name: 'unit-sandbox-host',
  destination: {
    write(line: string) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      emit({ ev: 'log', msg: entry['msg'], surface: entry['surface'], fix: entry['fix'] });
    },
  },
});

const device = await startLabDevice({
  deviceId: LAB_ID,
  setupSecret: LAB_SECRET,
  timeScale: 0,
  stateDir,
  logger,
  config: { mdns: { mode: 'off' }, ...(compat !== undefined ? { compat } : {}) },
});
// Ready once in setup with the AP up: what a client connecting now sees is settled.
const agent = device.running.agent;
while (!(agent.state === 'setup' && agent.setupApState().up)) await new Promise((r) => setTimeout(r, 20));
emit({
  ev: 'ready',
  state: agent.state,
  netconnectd: device.compat.netconnectd?.path ?? null,
  thingymcconfigSocket: device.compat.thingymcconfigSocket?.path ?? null,
  thingymcconfigPort: device.compat.thingymcconfigHttp?.port ?? null,
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await device.close();
  process.exit(0);
}
createInterface({ input: process.stdin }).on('close', () => void stop());
process.once('SIGTERM', () => void stop());
