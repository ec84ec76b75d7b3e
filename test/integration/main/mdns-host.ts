/**
 * Child of mdns-browser-netns.test.ts, run inside a host namespace. JSON commands on stdin, JSON
 * events (with Date.now() timestamps) on stdout. Two roles:
 *
 * - `browser`: the station's MdnsBrowser on every interface of the namespace; prints each discovery
 *   event and warning. Commands: {"cmd":"services"} | {"cmd":"stop"}.
 * - `advertiser`: the agent's CiaoAdvertiser. Commands: {"cmd":"start","ad":Advertisement} |
 *   {"cmd":"updateTxt","txt":{...}} | {"cmd":"stop"}. ciao re-reads interfaces every 15 s; here every
 *   second, so that an address change is re-announced within the test's time.
 *
 * Run: ip netns exec <ns> node --import tsx mdns-host.ts browser|advertiser
 */
import { createInterface } from 'node:readline';
import { NetworkManager } from '@homebridge/ciao/lib/NetworkManager.js';
import { CiaoAdvertiser } from '../../../agent/mdns/ciao-advertiser';
import type { Advertisement } from '../../../agent/ports/advertiser';
import { MdnsBrowser } from '../../../main/discovery/mdns-browser';
import { AirliftError } from '../../../shared/errors';

type Command =
  | { cmd: 'start'; ad: Advertisement }
  | { cmd: 'updateTxt'; txt: Record<string, string> }
  | { cmd: 'services' }
  | { cmd: 'stop' };

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

const fail = (err: unknown): void => {
  emit({
    ev: 'error',
    code: err instanceof AirliftError ? err.code : undefined,
    message: err instanceof Error ? err.message : String(err),
  });
};

const role = process.argv[2];

function runBrowser(): void {
  const browser = new MdnsBrowser({ onWarning: (message) => emit({ ev: 'warning', message }) });
  browser.subscribe((event) => emit({ ev: 'discovery', event }));
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = JSON.parse(line) as Command;
    if (command.cmd === 'services') emit({ ev: 'services', services: browser.services() });
    if (command.cmd === 'stop') {
      void browser.stop().then(() => {
        emit({ ev: 'stopped' });
        process.exit(0);
      });
    }
  });
  lines.on('close', () => void browser.stop().finally(() => process.exit(0)));
  browser.start().then(() => emit({ ev: 'ready' }), fail);
}

function runAdvertiser(): void {
  // Test-only: ciao's interface poll is a private static (15 s), read each time it schedules a poll.
  Reflect.set(NetworkManager, 'POLLING_TIME', 1000);
  const advertiser = new CiaoAdvertiser();
  const handle = async (command: Command): Promise<void> => {
    switch (command.cmd) {
      case 'start':
        emit({ ev: 'starting' });
        await advertiser.start(command.ad);
        emit({ ev: 'started' });
        return;
      case 'updateTxt':
        emit({ ev: 'updating' });
        await advertiser.updateTxt(command.txt);
        emit({ ev: 'updated' });
        return;
      case 'stop':
        emit({ ev: 'stopping' });
        await advertiser.stop();
        emit({ ev: 'stopped' });
        process.exit(0);
        return;
      case 'services':
        return;
    }
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    handle(JSON.parse(line) as Command).catch(fail);
  });
  // stdin closed: the test is gone; leave the network politely.
  lines.on('close', () => void advertiser.stop().finally(() => process.exit(0)));
  emit({ ev: 'ready' });
}

if (role === 'browser') runBrowser();
else if (role === 'advertiser') runAdvertiser();
else throw new Error('usage: mdns-host.ts browser|advertiser');
