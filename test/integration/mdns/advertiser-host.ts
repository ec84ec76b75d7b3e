/**
 * Child of ciao-netns.test.ts, run inside a host namespace: drives one CiaoAdvertiser from JSON
 * commands on stdin and reports JSON events (with Date.now() timestamps) on stdout.
 * Run: ip netns exec <ns> node --import tsx advertiser-host.ts
 * Commands: {"cmd":"start","ad":Advertisement} | {"cmd":"updateTxt","txt":{...}} | {"cmd":"stop"}
 */
import { createInterface } from 'node:readline';
import { CiaoAdvertiser } from '../../../agent/mdns/ciao-advertiser';
import type { Advertisement } from '../../../agent/ports/advertiser';
import { AirliftError } from '../../../shared/errors';

type Command =
  { cmd: 'start'; ad: Advertisement } | { cmd: 'updateTxt'; txt: Record<string, string> } | { cmd: 'stop' };

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

const advertiser = new CiaoAdvertiser({
  onRename: (what, name) => emit({ ev: 'renamed', what, name }),
  log: (level, _fields, message) => emit({ ev: 'log', level, message }),
});

async function handle(command: Command): Promise<void> {
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
      await advertiser.stop();
      emit({ ev: 'stopped' });
      process.exit(0);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  handle(JSON.parse(line) as Command).catch((err: unknown) => {
    emit({
      ev: 'error',
      code: err instanceof AirliftError ? err.code : undefined,
      message: err instanceof Error ? err.message : String(err),
    });
  });
});
// stdin closed: the test is gone; leave the network politely.
lines.on('close', () => {
  void advertiser.stop().finally(() => process.exit(0));
});
emit({ ev: 'ready' });
