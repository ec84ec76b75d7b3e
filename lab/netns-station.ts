/**
 * The station of the network lab: the real `airlift` CLI (main/cli/airlift.ts `main()`), with the
 * real mDNS browser (main/discovery/mdns-browser.ts) on the namespace's interfaces and the real
 * undici transport (main/engine/device-http.ts); only its Wi-Fi adapters are the lab's
 * (lab/netns-wifi-adapter.ts). Bundled as `dist/lab/netns-station.js`; run inside the station's
 * namespace with the `airlift` arguments, e.g. `provision --manifest m.csv --ssid LabNet ...`.
 *
 * Environment (set by the lab):
 *   AIRLIFT_LAB_AIR        the airspace controller's socket
 *   AIRLIFT_LAB_ADAPTERS   the adapters' interfaces, comma-separated (wlan0,wlan1)
 *   AIRLIFT_LAB_PROFILES   the adapters' saved profiles (a 0600 JSON file)
 *   AIRLIFT_LAB_CPU_FILE   optional: this process's CPU time, written there when the command returns (JSON)
 *   AIRLIFT_LAB_JOIN_LOG   optional: a JSON line per adapter join, its parts timed, appended there
 *   AIRLIFT_STATE_DIR      where jobs and locks live (main/engine/paths.ts)
 */
import { writeFileSync } from 'node:fs';
import { MdnsBrowser } from '../main/discovery/mdns-browser';
import { UndiciDeviceTransport } from '../main/engine/device-http';
import { main, type CliIo, type StationEnv } from '../main/cli/airlift';
import { ExecRunner } from '../platform/commands';
import { NetnsAdapterProvider, ProfileStore } from './netns-wifi-adapter';

function need(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    process.stderr.write(`netns-station: ${name} is not set (the lab sets it)\n`);
    process.exit(3);
  }
  return v;
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

const provider = new NetnsAdapterProvider({
  airSocket: need('AIRLIFT_LAB_AIR'),
  ifnames: need('AIRLIFT_LAB_ADAPTERS').split(',').filter(Boolean),
  runner: new ExecRunner(),
  profiles: new ProfileStore(need('AIRLIFT_LAB_PROFILES')),
  ...(process.env['AIRLIFT_LAB_JOIN_LOG'] ? { joinLog: process.env['AIRLIFT_LAB_JOIN_LOG'] } : {}),
});
const transport = new UndiciDeviceTransport();
const env = (): StationEnv => ({
  adapters: provider,
  browser: () => new MdnsBrowser({ onWarning: (m) => process.stderr.write(`mdns: ${m}\n`) }),
  transport,
});
const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin,
  interrupted: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
};

const cpuFile = process.env['AIRLIFT_LAB_CPU_FILE'];
main(process.argv.slice(2), io, env)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`airlift: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  )
  .finally(async () => {
    provider.close();
    await transport.close();
    if (cpuFile) {
      const cpu = process.cpuUsage();
      writeFileSync(cpuFile, JSON.stringify({ userUs: cpu.user, systemUs: cpu.system }));
    }
  });
