/**
 * Child of the mDNS namespace tests, run inside a host namespace: a multicast-dns listener on one
 * interface address that prints every resource record it receives as a JSON line, with the
 * sender's address and a Date.now() timestamp. `{"cmd":"query","name":...,"type":...}` on stdin
 * sends a multicast question. Run: ip netns exec <ns> node --import tsx browser-host.ts <address>
 */
import { createInterface } from 'node:readline';
import type { Answer } from 'dns-packet';
import makeMdns from 'multicast-dns';

const address = process.argv[2];
if (address === undefined) throw new Error('usage: browser-host.ts <interface address>');

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

/** Record data in a JSON-friendly shape: TXT as strings, SRV as {target, port}, the rest as given. */
function dataOf(rr: Answer): unknown {
  switch (rr.type) {
    case 'TXT': {
      const list = Array.isArray(rr.data) ? rr.data : [rr.data];
      return list.map((b) => (typeof b === 'string' ? b : b.toString('utf8')));
    }
    case 'SRV':
      return { target: rr.data.target, port: rr.data.port };
    case 'A':
    case 'AAAA':
    case 'PTR':
      return rr.data;
    default:
      return null;
  }
}

// Bind the wildcard address (a unicast bind would not receive multicast) and join on our link.
const mdns = makeMdns({ interface: address, bind: '0.0.0.0', loopback: false });
mdns.on('ready', () => emit({ ev: 'ready' }));
mdns.on('error', (err: Error) => emit({ ev: 'error', message: err.message }));
mdns.on('response', (packet, rinfo) => {
  const sections = [
    ['answer', packet.answers],
    ['additional', packet.additionals],
  ] as const;
  for (const [section, records] of sections) {
    for (const rr of records ?? []) {
      emit({
        ev: 'rr',
        from: rinfo.address,
        section,
        name: rr.name,
        type: rr.type,
        ttl: 'ttl' in rr ? rr.ttl : undefined,
        data: dataOf(rr),
      });
    }
  }
});

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: 'query'; name: string; type: 'PTR' | 'SRV' | 'TXT' | 'A' };
  mdns.query({ questions: [{ name: cmd.name, type: cmd.type }] });
});
lines.on('close', () => mdns.destroy(() => process.exit(0)));
