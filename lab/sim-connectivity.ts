/**
 * Connectivity checks answered from the lab's model instead of the network: a link reaches the
 * internet when it is the wired or cellular link (SimFaults.ethernet, .cellular) whose uplink is not
 * dead (SimFaults.noInternet), or a Wi-Fi association with an AP whose `internet` flag is set.
 * The gateway answers on any link that is up, as a real one does on a network without an uplink
 * (a captive café network): gateway ok + DNS failed is the `no_internet` signature.
 */
import type { CheckResult, ConnectivityPort, ConnectivityTargets } from '../agent/ports/connectivity';
import type { Lease } from '../agent/ports/radio';
import { ssidDisplay } from '../shared/ssid';
import type { SimRadio } from './sim-radio';

/** Nominal round trips reported for successful checks (sim ms; no real waiting happens). */
const LATENCY_MS = { gateway: 2, dns: 18, ntp: 25, url: 80 } as const;

interface Link {
  lease: Lease;
  internet: boolean;
  /** For details: "Wi-Fi network CoffeeShop" or "ethernet". */
  label: string;
}

export interface SimConnectivityOptions {
  radio: SimRadio;
}

export class SimConnectivity implements ConnectivityPort {
  private readonly radio: SimRadio;

  constructor(options: SimConnectivityOptions) {
    this.radio = options.radio;
  }

  /**
   * `lease` picks the link to check (matched by IP); undefined means the preferred link that is up
   * (ethernet, then Wi-Fi). A lease no current link holds fails every check: the address is stale.
   */
  async check(lease: Lease | undefined, targets: ConnectivityTargets): Promise<CheckResult[]> {
    const links = await this.links();
    const link = lease === undefined ? links[0] : links.find((l) => l.lease.ip === lease.ip);
    const down =
      link === undefined
        ? lease === undefined
          ? 'No link is up'
          : `No link holds the address ${lease.ip}`
        : undefined;
    const noInternet =
      link !== undefined && !link.internet ? `${link.label} has no internet access` : undefined;

    const results: CheckResult[] = [];
    const gateway = link?.lease.defaultgw ?? lease?.defaultgw ?? '';
    results.push(
      down === undefined
        ? { id: 'gateway', target: gateway, state: 'ok', latencyMs: LATENCY_MS.gateway }
        : { id: 'gateway', target: gateway, state: 'failed', detail: down },
    );
    const resolver = link?.lease.nameservers[0] ?? 'the resolver';
    const failures = {
      dns: (host: string) => `${host}: no answer from ${resolver}`,
      ntp: (server: string) => `${server}: no NTP reply`,
      url: (url: string) => `${url}: connection timed out`,
    };
    for (const id of ['dns', 'ntp', 'url'] as const) {
      const list = id === 'dns' ? targets.dns : id === 'ntp' ? targets.ntp : targets.urls;
      if (list.length === 0) {
        results.push({ id, target: '', state: 'skipped', detail: `No ${id} targets configured` });
        continue;
      }
      for (const target of list) {
        const why = down ?? noInternet;
        results.push(
          why === undefined
            ? { id, target, state: 'ok', latencyMs: LATENCY_MS[id] }
            : { id, target, state: 'failed', detail: `${failures[id](target)} (${why})` },
        );
      }
    }
    return results;
  }

  private async links(): Promise<Link[]> {
    const status = await this.radio.status();
    const dead = this.radio.faults.noInternet ?? [];
    const links: Link[] = [];
    if (status.ethernet.up && status.ethernet.lease !== undefined) {
      links.push({ lease: status.ethernet.lease, internet: !dead.includes('ethernet'), label: 'ethernet' });
    }
    const { wifi } = status;
    if (wifi.up && wifi.lease !== undefined && wifi.bssid !== undefined) {
      const ap = this.radio.airspace.getAp(wifi.bssid);
      links.push({
        lease: wifi.lease,
        internet: ap?.internet ?? false,
        label: ap === undefined ? 'Wi-Fi' : `Wi-Fi network ${JSON.stringify(ssidDisplay(ap.ssidHex))}`,
      });
    }
    if (status.cellular.up && status.cellular.lease !== undefined) {
      links.push({ lease: status.cellular.lease, internet: !dead.includes('cellular'), label: 'cellular' });
    }
    return links;
  }
}
