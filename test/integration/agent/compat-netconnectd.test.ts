import { connect, createServer } from 'node:net';
import { lstat, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startNetconnectdSocket, type NetconnectdHandle } from '../../../agent/compat/netconnectd';
import { silentLogger } from '../../../agent/log';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';
import { LAB_ID, LAB_SECRET, LABNET_HEX, status, waitFor } from '../../helpers/lab';
import { leaveStaleSocket } from '../../helpers/stale-socket';

let device: LabDevice;
let sock: NetconnectdHandle;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-ncd-'));
  device = await startLabDevice({ deviceId: LAB_ID, setupSecret: LAB_SECRET, timeScale: 0 });
  await waitFor(
    () => device.running.agent.state,
    (s) => s === 'setup',
    'setup',
  );
  sock = await startNetconnectdSocket({
    path: join(dir, 'netconnectd.sock'),
    agent: device.running.agent,
    logger: silentLogger,
  });
});

afterEach(async () => {
  await sock.close();
  await device.close();
  await rm(dir, { recursive: true, force: true });
});

/** Write raw byte chunks, collect NUL-terminated replies until `count` arrived (or the peer closes). */
function exchange(chunks: (string | Buffer)[], count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(sock.path);
    let buf = Buffer.alloc(0);
    const replies: string[] = [];
    s.on('error', reject);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (let i = buf.indexOf(0); i !== -1; i = buf.indexOf(0)) {
        replies.push(buf.subarray(0, i).toString('utf8'));
        buf = buf.subarray(i + 1);
      }
      if (replies.length >= count) {
        s.end();
        resolve(replies);
      }
    });
    s.on('close', () => resolve(replies));
    s.on('connect', () => {
      void (async () => {
        for (const c of chunks) {
          s.write(c);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
    });
  });
}

async function call(cmd: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const [reply] = await exchange([JSON.stringify({ [cmd]: params }) + '\0'], 1);
  return JSON.parse(reply ?? 'null') as Record<string, unknown>;
}

describe('netconnectd compatibility socket', () => {
  it('creates the socket with mode 0660', async () => {
    expect((await stat(sock.path)).mode & 0o777).toBe(0o660);
  });

  it('answers status in netconnectd shape while the setup AP is up', async () => {
    expect(await call('status')).toEqual({
      result: {
        link: false,
        devs: [],
        connections: { wifi: false, ap: true, wired: false },
        wifi: { current_ssid: null, current_address: null, valid_config: false, present: true },
      },
    });
  });

  it('lists cells with channel, uppercase address, encrypted flag and dBm signal', async () => {
    const r = (await call('list_wifi', { force: true })) as { result: Record<string, unknown>[] };
    const lab = r.result.find((c) => c['ssid'] === 'LabNet');
    expect(lab).toEqual({
      ssid: 'LabNet',
      channel: 6,
      address: '02:00:00:00:00:01',
      encrypted: true,
      signal: -45,
    });
    expect(r.result.find((c) => c['ssid'] === 'CoffeeShop')).toMatchObject({ channel: 1, encrypted: false });
  });

  it('handles split and coalesced messages in order on one connection', async () => {
    const a = JSON.stringify({ start_ap: {} }) + '\0';
    const b = JSON.stringify({ unknown_cmd: {} }) + '\0';
    const replies = await exchange(
      [a.slice(0, 3), a.slice(3, 9), a.slice(9) + b + '{"stop', '_ap":{}}\0'],
      3,
    );
    expect(replies).toEqual([
      '{"result":"access point is already running"}',
      '{"error":"unknown message"}',
      '{"result":"stopped ap"}',
    ]);
  });

  it('answers malformed input with an error and keeps serving', async () => {
    const replies = await exchange(
      ['{not json\0', '[1,2]\0', '{"a":1,"b":2}\0', '{"config_wifi":{}}\0', '\0'],
      5,
    );
    expect(replies.map((r) => Object.keys(JSON.parse(r) as object))).toEqual([
      ['error'],
      ['error'],
      ['error'],
      ['error'],
      ['error'],
    ]);
    expect(replies[0]).toBe('{"error":"error while processing message from client"}');
    // netconnectd's own answer for a config_wifi without ssid ("Missing mandatory parameters").
    expect(replies[3]).toBe('{"error":"error while processing message from client"}');
    expect(await call('status')).toHaveProperty('result');
  });

  it('refuses an oversized message and closes the connection', async () => {
    const replies = await exchange(['{"status":{"x":"' + 'a'.repeat(20_000)], 1);
    expect(replies).toEqual(['{"error":"message too large"}']);
    expect(await call('status')).toHaveProperty('result');
  });

  it('refuses an unknown cell and a bad passphrase', async () => {
    expect(await call('config_wifi', { ssid: 'Nowhere', psk: 'whatever1', force: true })).toEqual({
      error: 'could not find wifi cell with ssid Nowhere',
    });
    const bad = await call('config_wifi', { ssid: 'LabNet', psk: 'short' });
    expect(Object.keys(bad)).toEqual(['error']);
    expect(String(bad['error'])).toMatch(/^invalid wifi configuration/);
    expect(await call('start_wifi')).toEqual({ error: 'wifi is not yet configured' });
  });

  it('config_wifi + start_wifi joins LabNet, as the OctoPrint plugin drives it', async () => {
    expect(await call('config_wifi', { ssid: 'LabNet', psk: 'correct horse', force: false })).toEqual({
      result: 'configured wifi as "netconnectd_wifi"',
    });
    expect(await call('start_wifi')).toEqual({ result: 'connected to wifi' });
    await waitFor(
      () => status(device),
      (s) => s.state === 'online',
      'online',
    );
    const st = (await call('status')) as { result: Record<string, unknown> };
    expect(st.result).toEqual({
      link: true,
      devs: ['wlan0'],
      connections: { wifi: true, ap: false, wired: false },
      wifi: {
        current_ssid: 'LabNet',
        current_address: '02:00:00:00:00:01',
        valid_config: true,
        present: true,
      },
    });
    expect(device.running.agent.listWifi().map((n) => n.ssidHex)).toEqual([LABNET_HEX]);
    expect(await call('forget_wifi')).toEqual({ result: 'forgot configured wifi' });
    expect(await call('forget_wifi')).toEqual({ result: 'wifi was not configured yet' });
    expect(await call('reset')).toEqual({ result: 'reset daemon' });
  });

  it('writes non-ASCII as \\u escapes like Python json.dumps', async () => {
    const [reply] = await exchange([JSON.stringify({ config_wifi: { ssid: 'Café' } }) + '\0'], 1);
    expect(reply).toBe('{"error":"could not find wifi cell with ssid Caf\\u00e9"}');
  });
});

describe('netconnectd compatibility socket: framing and the file on disk', () => {
  it('answers an oversize message after the replies before it, then closes', async () => {
    const ok = JSON.stringify({ status: {} }) + '\0';
    const replies = await exchange(
      [ok, '{"status":{"x":"' + 'a'.repeat(5000), 'a'.repeat(20_000), '"}}\0', ok],
      9,
    );
    expect(replies.map((r) => Object.keys(JSON.parse(r) as object)[0])).toEqual(['result', 'error']);
    expect(replies[1]).toBe('{"error":"message too large"}');
  });

  it('replaces a socket file a dead netconnectd left', async () => {
    const stale = join(dir, 'stale.sock');
    await leaveStaleSocket(stale);
    expect((await lstat(stale)).isSocket()).toBe(true);
    const second = await startNetconnectdSocket({
      path: stale,
      agent: device.running.agent,
      logger: silentLogger,
    });
    try {
      const [reply] = await new Promise<string[]>((resolve, reject) => {
        const s = connect(stale);
        let buf = '';
        s.on('error', reject);
        s.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          if (buf.includes('\0')) {
            s.end();
            resolve(buf.split('\0'));
          }
        });
        s.write(JSON.stringify({ status: {} }) + '\0');
      });
      expect(Object.keys(JSON.parse(reply ?? '{}') as object)).toEqual(['result']);
    } finally {
      await second.close();
    }
  });

  it('never takes the socket of a live netconnectd, nor a path that is not a socket', async () => {
    const live = join(dir, 'live.sock');
    const other = createServer((c) => c.end());
    await new Promise<void>((resolve) => other.listen(live, resolve));
    try {
      await expect(
        startNetconnectdSocket({ path: live, agent: device.running.agent, logger: silentLogger }),
      ).rejects.toMatchObject({ code: 'BUSY' });
      expect((await lstat(live)).isSocket()).toBe(true);
    } finally {
      await new Promise((r) => other.close(r));
    }
    const file = join(dir, 'precious');
    await writeFile(file, 'keep');
    await expect(
      startNetconnectdSocket({ path: file, agent: device.running.agent, logger: silentLogger }),
    ).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(await readFile(file, 'utf8')).toBe('keep');
  });
});
