/**
 * The network lab end to end: 8 real agent processes, each in its own network namespace with its
 * own dnsmasq on its setup AP, the real `airlift` CLI in the station's namespace, a router with
 * dnsmasq serving LabNet, the technician's Workshop network, and only the radio simulated
 * (lab/netns-fleet.ts). Everything above the link is real: DHCP (udhcpc ↔ dnsmasq), ARP, mDNS
 * multicast between namespaces, HTTP over real addresses, the address change when a device moves
 * from its setup AP to the LAN.
 *
 * - The station finds every device by its setup AP (a scan), provisions all 8 over their setup APs
 *   on two lanes, finds them again over mDNS on LabNet, confirms each (committed: nothing pending on
 *   the device), and puts its adapters back on Workshop; each device was sent credentials once.
 * - Real peers: Debian's avahi-browse, against an avahi-daemon this test starts in a wired host's
 *   namespace, lists every agent's service with the TXT the protocol fixes; a service published
 *   with avahi-publish is found by the station's own browser; curl drives the public endpoints.
 * - Sniffer: tcpdump ran on every setup AP's bridge for the whole run; the capture holds the
 *   sessions and the DHCP exchanges, and neither the target passphrase nor any setup secret.
 *
 * Needs root, iproute2 and Debian's dnsmasq, udhcpc, curl, tcpdump, avahi-daemon, avahi-utils and
 * dbus-daemon (.ci/run installs them; missing ones are installed here when root). About 1.5 min.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNetnsBundles } from '../../../lab/netns-build';
import { LABNET, LAN, LAN_PORT, NetnsFleet, WORKSHOP } from '../../../lab/netns-fleet';
import type { LineChild } from '../../../lab/netns-proc';
import { wpa2Psk, ssidHexOf } from '../../../lab/airspace';
import { deriveProverSecrets } from '../../../shared/crypto/airlift';
import { normaliseSetupSecret } from '../../../shared/identity';
import { fromBase64Url } from '../../../shared/encoding';
import { AvahiPeer } from '../../helpers/avahi-peer';
import { readPcap, tcpStreams } from '../../helpers/pcap';
import {
  httpMessages,
  jobIdOf,
  netnsLabSkipReason,
  pushesByDevice,
  readJournal,
  stationReport,
  type Report,
} from './helpers';

const skipReason = await netnsLabSkipReason();
if (skipReason) console.warn(`SKIPPING the network lab's fleet test: ${skipReason}`);

describe.skipIf(skipReason !== '')(
  `network lab: 8 devices end to end${skipReason ? ` (SKIPPED: ${skipReason})` : ''}`,
  () => {
    let fleet: NetnsFleet;
    const captures: { bridge: string; path: string; proc: LineChild }[] = [];
    let report: Report;
    let peer: AvahiPeer | undefined;

    let bundleDir: string | undefined;

    beforeAll(async () => {
      bundleDir = await buildNetnsBundles();
      fleet = await NetnsFleet.create({
        // Two with AP+STA (the AP stays up while they join), six taking turns. The AP+STA ones go
        // first: a lane left on the setup AP of one that lingers after success would hear it there
        // (see faults.test.ts, "a lane still on a lingering setup AP").
        devices: [{ apSta: true }, { apSta: true }, ...Array.from({ length: 6 }, () => ({}))],
        adapters: 2,
        bundleDir,
        peer: true,
        timeScale: 0.1,
        progress: (m) => console.log(`[lab] ${m}`),
      });
      // A sniffer on every setup AP's bridge, for the whole run.
      for (const bridge of fleet.air.setupBridges()) {
        const path = join(fleet.runDir, `capture-${bridge}.pcap`);
        const proc = fleet.spawnIn(fleet.airNs, `tcpdump ${bridge}`, 'tcpdump', [
          '-i',
          bridge,
          '-n',
          '-U',
          '-s',
          '0',
          '-w',
          path,
        ]);
        captures.push({ bridge, path, proc });
      }
      for (const c of captures) {
        const end = Date.now() + 10_000;
        while (!c.proc.stderr.includes('listening on') && Date.now() < end && !c.proc.exit)
          await new Promise((r) => setTimeout(r, 50));
        expect(c.proc.stderr, `tcpdump on ${c.bridge}`).toContain('listening on');
      }
      await fleet.connectStationToWorkshop();
    }, 180_000);

    afterAll(async () => {
      await peer?.stop();
      await fleet.destroy();
      if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
      // Nothing of the lab is left: no namespace, no process in one, no /etc/netns entry.
      expect(fleet.leftovers()).toBe(0);
    }, 60_000);

    it('finds every device by its setup AP', async () => {
      const run = fleet.station(['discover', '--json', '--seconds', '1']);
      expect(await run.done).toBe(0);
      const { devices } = JSON.parse(run.proc.text.join('\n')) as {
        devices: { id: string; setupAp?: { ssid: string } }[];
      };
      expect(devices.map((d) => d.id).sort()).toEqual(fleet.devices.map((d) => d.deviceId).sort());
      for (const d of devices) expect(d.setupAp?.ssid).toBe(`Airlift-${d.id}`);
    }, 60_000);

    it('provisions all 8 over their setup APs, finds them on the LAN over mDNS, commits each, and restores Workshop', async () => {
      expect(fleet.stationNetworks()).toEqual([WORKSHOP.ssid, WORKSHOP.ssid]);
      const started = Date.now();
      const run = fleet.station([...fleet.provisionArgs({ verifyTimeoutS: 30 }), '--json']);
      const code = await run.done;
      const jobId = jobIdOf(run);
      expect(jobId, run.proc.stderr).toBeDefined();
      report = await stationReport(fleet, jobId ?? '');
      console.log(`[measure] 8 devices, 2 lanes, AP path: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(
        report.devices.filter((d) => d.result !== 'verified').map((d) => `${d.id} ${d.reason} ${d.detail}`),
      ).toEqual([]);
      expect(code).toBe(0);
      expect(report.summary).toMatchObject({ total: 8, verified: 8, failed: 0 });
      const lanNet = /^192\.168\.50\.\d+$/;
      for (const r of report.devices) {
        expect(r.ip).toMatch(lanNet);
        // Found by mDNS: the host name comes from the SRV record it advertised on the LAN.
        expect(r.hostname).toBe(`airlift-${r.id.toLowerCase()}.local`);
        expect(r.checks).toEqual(
          expect.arrayContaining([
            { id: 'gateway', target: LAN.router, state: 'ok' },
            { id: 'dns', target: 'router.lab', state: 'ok' },
          ]),
        );
      }
      // Two lanes worked side by side.
      const lanes = new Set(run.proc.events.filter((e) => e.ev === 'device-step').map((e) => e['lane']));
      expect(lanes).toEqual(new Set(['wlan0', 'wlan1', undefined]));

      // Committed on every device: online, LabNet stored, nothing left on trial.
      for (const d of fleet.devices) {
        expect(fleet.stateOf(d)).toBe('online');
        const networks = (await fleet.readState(d, 'networks.json')) as {
          networks: { ssidHex: string }[];
          pending?: unknown;
        };
        expect(networks.pending).toBeUndefined();
        expect(networks.networks.map((n) => n.ssidHex)).toEqual([ssidHexOf(LABNET.ssid)]);
        const status = await fleet.statusOf(d);
        expect(status).toMatchObject({ state: 'online', pv: report.job.nonce8 });
        expect(status.ip).toBe(report.devices.find((r) => r.id === d.deviceId)?.ip);
      }
      // Sent credentials once each: one journaled push, one attempt on the device.
      const journal = await readJournal(fleet, jobId ?? '');
      expect([...pushesByDevice(journal).values()]).toEqual(Array(8).fill(1));
      for (const d of fleet.devices) expect(fleet.attemptsOf(d).map((a) => a.result)).toEqual(['ok']);
      // The technician's network is back on both adapters.
      expect(fleet.stationNetworks()).toEqual([WORKSHOP.ssid, WORKSHOP.ssid]);
    }, 180_000);

    it('avahi-browse lists every agent with the TXT the protocol fixes', async () => {
      peer = await AvahiPeer.start(fleet, fleet.peerNs ?? '', 'eth0', 'airlift-peer');
      const from = peer.browse('_airlift._tcp');
      const end = Date.now() + 20_000;
      while (peer.resolved(from).size < 8 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      const seen = peer.resolved(from);
      for (const r of report.devices) {
        const s = seen.get(`Airlift ${r.id}`);
        expect(s, `avahi-browse did not resolve Airlift ${r.id}`).toBeDefined();
        expect(s).toMatchObject({ type: '_airlift._tcp', host: r.hostname, address: r.ip, port: LAN_PORT });
        expect([...(s?.txt ?? [])].sort()).toEqual(
          [`id=${r.id}`, 'v=1', 'st=online', `pv=${report.job.nonce8}`, 'md=lab-netns', 'fw=1.0.0'].sort(),
        );
      }
    }, 60_000);

    it("finds a service published with avahi-publish in the station's own browser", async () => {
      expect(peer).toBeDefined();
      await peer?.publish('Airlift Z2Z2Z2Z2', '_airlift._tcp', LAN_PORT, [
        'id=Z2Z2Z2Z2',
        'v=1',
        'st=online',
        'pv=',
        'md=avahi-peer',
        'fw=0.8',
      ]);
      // The station on LabNet (its OS joins as it would), browsing with main/discovery/mdns-browser.ts.
      await fleet.connectStation('wlan0', LABNET);
      const run = fleet.station(['discover', '--json', '--seconds', '4', '--adapter', 'wlan1']);
      expect(await run.done).toBe(0);
      const { devices } = JSON.parse(run.proc.text.join('\n')) as {
        devices: { id: string; lan?: { addresses: string[]; state: string; host: string } }[];
      };
      expect(devices.find((d) => d.id === 'Z2Z2Z2Z2')?.lan).toMatchObject({
        addresses: [LAN.peer],
        state: 'online',
        host: 'airlift-peer.local',
      });
      // And every agent, over mDNS, at the address the report has.
      for (const r of report.devices)
        expect(devices.find((d) => d.id === r.id)?.lan).toMatchObject({ addresses: [r.ip], state: 'online' });
    }, 60_000);

    it('answers curl on its public endpoints at its LAN address, and refuses what hardening refuses', async () => {
      const r = report.devices[0];
      const ip = r?.ip ?? '';
      const curl = async (...args: string[]) => {
        const out = await fleet.exec(fleet.peerNs ?? '', 'curl', [
          '-s',
          '-m',
          '5',
          '-w',
          '\n%{http_code}',
          ...args,
        ]);
        const lines = out.stdout.trimEnd().split('\n');
        const status = Number(lines.pop());
        return { status, json: JSON.parse(lines.join('\n') || 'null') as Record<string, unknown> };
      };
      const info = await curl(`http://${ip}:${LAN_PORT}/v1/info`);
      expect(info.status).toBe(200);
      expect(info.json).toMatchObject({
        id: r?.id,
        protocol: 1,
        state: 'online',
        hostname: `airlift-${r?.id.toLowerCase()}`,
      });
      const status = await curl(`http://${ip}:${LAN_PORT}/v1/status`);
      expect(status.json).toMatchObject({ state: 'online', via: 'wifi', ip, pv: report.job.nonce8 });
      const networks = await curl(`http://${ip}:${LAN_PORT}/v1/networks`);
      expect(networks.status).toBe(200);
      expect(Array.isArray(networks.json['networks'])).toBe(true);
      const plain = await curl(
        '-X',
        'POST',
        '-H',
        'content-type: text/plain',
        '--data',
        '{}',
        `http://${ip}:${LAN_PORT}/v1/session/hello`,
      );
      expect(plain).toMatchObject({ status: 415, json: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
      const rebound = await curl('-H', 'Host: attacker.example', `http://${ip}:${LAN_PORT}/v1/info`);
      expect(rebound).toMatchObject({ status: 421, json: { error: { code: 'BAD_HOST' } } });
    }, 30_000);

    it('captured the sessions on every setup AP, and nothing that reveals a secret', async () => {
      await Promise.all(captures.map((c) => c.proc.stop(3000)));
      const packets = captures.flatMap((c) => readPcap(c.path));
      const streams = tcpStreams(packets);
      const all = Buffer.concat(packets.map((p) => p.frame));
      expect(all.length).toBeGreaterThan(10_000);

      // What was there: real DHCP on every AP, and each device's session over its AP's port 80.
      expect(packets.some((p) => p.proto === 'udp' && p.dport === 67)).toBe(true);
      expect(packets.some((p) => p.proto === 'udp' && p.dport === 68)).toBe(true);
      const requests = [...streams]
        .filter(([flow]) => flow.endsWith(':80'))
        .flatMap(([, s]) => httpMessages(s));
      const answers = [...streams].filter(([flow]) => /:80>/.test(flow)).flatMap(([, s]) => httpMessages(s));
      const starts = requests.map((m) => m.start.split(' ').slice(0, 2).join(' '));
      for (const path of ['/v1/session/hello', '/v1/session/pake1', '/v1/session/pake2', '/v1/rpc'])
        expect(starts.filter((s) => s === `POST ${path}`).length, path).toBeGreaterThanOrEqual(8);

      // What was not: the target passphrase in any form (text, hex, base64, its WPA2 PSK), any
      // device's setup secret (as typed, normalised, its bytes in hex or base64url, its SPAKE2+
      // w0 and w1), and any plaintext RPC.
      const forbidden: [string, Buffer][] = [];
      const add = (what: string, bytes: Uint8Array) => forbidden.push([what, Buffer.from(bytes)]);
      const pass = Buffer.from(LABNET.passphrase);
      add('passphrase', pass);
      add('passphrase hex', Buffer.from(pass.toString('hex')));
      add('passphrase base64', Buffer.from(pass.toString('base64').replace(/=+$/, '')));
      add('passphrase base64url', Buffer.from(pass.toString('base64url')));
      add(
        'PSK hex',
        Buffer.from(Buffer.from(wpa2Psk(LABNET.passphrase, ssidHexOf(LABNET.ssid))).toString('hex')),
      );
      for (const d of fleet.devices) {
        const secret = normaliseSetupSecret(d.setupSecret);
        add(`${d.deviceId} secret`, Buffer.from(secret));
        add(`${d.deviceId} secret lowercase`, Buffer.from(secret.toLowerCase()));
        const identity = JSON.parse(await readFile(join(d.stateDir, 'identity.json'), 'utf8')) as {
          salt: string;
          iterations: number;
          w0: string;
          L: string;
        };
        const { w0, w1 } = deriveProverSecrets(
          secret,
          d.deviceId,
          Buffer.from(identity.salt, 'hex'),
          identity.iterations,
        );
        for (const [name, v] of [
          ['w0', w0],
          ['w1', w1],
          ['L', Buffer.from(identity.L, 'hex')],
        ] as const) {
          add(`${d.deviceId} ${name} hex`, Buffer.from(Buffer.from(v).toString('hex')));
          add(`${d.deviceId} ${name} base64url`, Buffer.from(Buffer.from(v).toString('base64url')));
          add(`${d.deviceId} ${name} raw`, Buffer.from(v));
        }
      }
      // (`"networks":[…]` is public: the device's scan results answer GET /v1/networks.)
      for (const word of ['"passphrase"', '"psk"', 'wifi.set', '"failsafeSeconds"'])
        add(word, Buffer.from(word));
      const stream = Buffer.concat([...streams.values()]);
      for (const [what, bytes] of forbidden) {
        expect(all.includes(bytes), `${what} in the frames`).toBe(false);
        expect(stream.includes(bytes), `${what} in a TCP stream`).toBe(false);
      }

      /*
       * Why nothing captured allows an offline guess of the setup secret. An eavesdropper holds,
       * per session: the nonces, the salt and iteration count (public by design: `hello`), the
       * prover's share X = x·P + w0·M, the verifier's share Y = y·P + w0·N, the two key
       * confirmations (HMACs under keys derived from Z and V), and AES-256-GCM ciphertexts. To test
       * a guessed secret s' it can compute w0', w1' (PBKDF2 with the public salt), but checking them
       * needs Z = x·(Y − w0'·N) or y·(X − w0'·M) and V = w1'·(Y − w0'·N) — and x, y are ephemeral
       * scalars never sent. For every guess, X and Y are uniformly random points (w0·M is masked by
       * x·P), so the transcript is equally consistent with every secret: no function of it confirms
       * or refutes a guess. The only test of a guess is an online handshake, which the device
       * charges before it answers pake1 (protocol.md, abuse limits). The assertions below pin that
       * the capture holds exactly that transcript and nothing more.
       */
      const bodies = (msgs: typeof requests, path: string) =>
        msgs
          .filter((m) => m.start.startsWith(`POST ${path} `))
          .map((m) => JSON.parse(m.body.toString('utf8')) as Record<string, string>);
      for (const b of bodies(requests, '/v1/session/hello'))
        expect(Object.keys(b).sort()).toEqual(['deviceId', 'nonce']);
      for (const b of bodies(requests, '/v1/session/pake1')) {
        expect(Object.keys(b).sort()).toEqual(['shareP', 'sid']);
        // An uncompressed P-256 point, 65 bytes: one fresh X per handshake.
        expect(fromBase64Url(b['shareP'] ?? '')).toHaveLength(65);
      }
      for (const b of bodies(requests, '/v1/session/pake2'))
        expect(Object.keys(b).sort()).toEqual(['confirmP', 'sid']);
      const rpcs = bodies(requests, '/v1/rpc');
      for (const b of rpcs) expect(Object.keys(b).sort()).toEqual(['ct', 'ctr', 'sid']);
      // Every share is fresh: no two handshakes sent the same X.
      const shares = bodies(requests, '/v1/session/pake1').map((b) => b['shareP']);
      expect(new Set(shares).size).toBe(shares.length);
      const pake1Answers = answers
        .map((m) => m.body.toString('utf8'))
        .filter((t) => t.includes('"shareV"'))
        .map((t) => JSON.parse(t) as Record<string, unknown>);
      for (const a of pake1Answers) expect(Object.keys(a).sort()).toEqual(['confirmV', 'shareV']);
      expect(pake1Answers.length).toBeGreaterThanOrEqual(8);
    }, 60_000);
  },
);
