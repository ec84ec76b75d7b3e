/**
 * What both backends ask of the dnsmasq serving the setup AP, besides DHCP itself:
 * - every name answers with the AP's own address, so a phone's captive-portal check finds the portal;
 * - `no-ping`: by default dnsmasq pings an address and waits up to 3 s for an echo before it offers
 *   it, so every join of the setup AP took 3 s more (`npm run bench`: the station's DHCP lease took a
 *   median 3.1 s, 0.13 s with `no-ping`). The check guards against hosts that took an address
 *   without asking; the setup AP's subnet is the agent's own, and dnsmasq is its only DHCP server.
 */
export function setupApDnsmasqLines(apAddress: string): string[] {
  return [`address=/#/${apAddress}`, 'no-ping'];
}
