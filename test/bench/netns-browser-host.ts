/**
 * The station's mDNS browser (main/discovery/mdns-browser.ts) alone, inside the station's
 * namespace, for the discovery benchmark: every event as a JSON line with Date.now().
 * Run: ip netns exec <ns> node --import tsx netns-browser-host.ts
 * stdout: {"ev":"started"} once its sockets are bound, then {"ev":"up"|"update"|"down", ...}.
 */
import { MdnsBrowser } from '../../main/discovery/mdns-browser';
import { parseTxt } from '../../shared/protocol/mdns';

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
};

const browser = new MdnsBrowser({ onWarning: (m) => emit({ ev: 'warning', message: m }) });
browser.subscribe((e) => {
  if (e.type === 'down') {
    emit({ ev: 'down', fqdn: e.fqdn });
    return;
  }
  let id: string | undefined;
  try {
    id = parseTxt(e.service.txt).id;
  } catch {
    id = undefined;
  }
  emit({ ev: e.type, id, fqdn: e.service.fqdn, addresses: e.service.addresses });
});
await browser.start();
emit({ ev: 'started' });
process.stdin.resume();
process.stdin.on('end', () => {
  void browser.stop().finally(() => process.exit(0));
});
process.on('SIGTERM', () => {
  void browser.stop().finally(() => process.exit(0));
});
