import { connect, type Socket } from 'node:net';
import { lstat, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentNotRunningError, ControlClient, callControl } from '../../../agent/control/client';
import { lookupGroup, startControlSocket } from '../../../agent/control/socket-server';
import { silentLogger } from '../../../agent/log';
import { AirliftError } from '../../../shared/errors';
import { JSONRPC_ERRORS, controlServerMessageSchema } from '../../../shared/protocol/control';
import type { AgentEvent } from '../../../shared/protocol/api';
import { leaveStaleSocket } from '../../helpers/stale-socket';
import { startRig, waitFor, waitForState, type Rig } from './control-rig';

/** A raw line client: what any app on the device would write, byte for byte. */
class LineClient {
  readonly lines: unknown[] = [];
  closed = false;
  private buffer = '';
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        this.lines.push(JSON.parse(this.buffer.slice(0, nl)));
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }
  static open(path: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }
  send(text: string): void {
    this.socket.write(text);
  }
  async next(count = 1): Promise<unknown[]> {
    const want = this.lines.length + 0;
    await waitFor(() => this.lines.length >= count, `${count} lines (have ${want})`);
    return this.lines.splice(0, count);
  }
  async request(id: number, method: string, params?: unknown): Promise<Record<string, unknown>> {
    this.send(
      `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`,
    );
    const [line] = await this.next();
    return line as Record<string, unknown>;
  }
  close(): void {
    this.socket.destroy();
  }
}

let rig: Rig | undefined;
const clients: LineClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await rig?.close();
  rig = undefined;
});

async function open(): Promise<LineClient> {
  if (!rig) throw new Error('no rig');
  const c = await LineClient.open(rig.socketPath);
  clients.push(c);
  return c;
}

describe('control socket: JSON-RPC against a real agent', () => {
  it('answers status with the agent status, under the id it was asked with', async () => {
    rig = await startRig();
    await waitForState(rig.agent, 'setup');
    const c = await open();
    const res = await c.request(7, 'status');
    expect(controlServerMessageSchema.safeParse(res).success).toBe(true);
    expect(res).toMatchObject({
      jsonrpc: '2.0',
      id: 7,
      result: { state: 'setup', setupAp: { ssid: 'Airlift-K7Q2M6XA' } },
    });
    // String ids are echoed as they are.
    expect(await c.request('abc' as unknown as number, 'status')).toMatchObject({ id: 'abc' });
  });

  it('creates the socket 0660 in a directory it creates 0755', async () => {
    rig = await startRig();
    const info = await lstat(rig.socketPath);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o660);
    expect((await stat(join(rig.dir, 'run'))).mode & 0o777).toBe(0o755);
  });

  it('wifi.add joins LabNet with its passphrase and the device goes online; wifi.list hides the passphrase', async () => {
    rig = await startRig();
    await waitForState(rig.agent, 'setup');
    const c = await open();
    const added = await c.request(1, 'wifi.add', { ssid: 'LabNet', passphrase: 'correct horse' });
    expect((added as { result: { attemptId: string } }).result.attemptId).toMatch(/^[0-9a-f]{16}$/);
    await waitForState(rig.agent, 'online');
    expect(rig.agent.status()).toMatchObject({ ssid: 'LabNet', lastAttempt: { result: 'ok' } });

    const listed = await c.request(2, 'wifi.list');
    expect(listed).toMatchObject({ result: { networks: [{ ssid: 'LabNet', security: 'wpa2-psk' }] } });
    expect(JSON.stringify(listed)).not.toContain('correct horse');
  });

  it('wifi.add while online stores the network without switching unless apply is now', async () => {
    rig = await startRig();
    await waitForState(rig.agent, 'setup');
    const c = await open();
    await c.request(1, 'wifi.add', { ssid: 'LabNet', passphrase: 'correct horse' });
    await waitForState(rig.agent, 'online');
    const later = await c.request(2, 'wifi.add', { ssid: 'CoffeeShop', security: 'open' });
    expect(later).toMatchObject({ result: { attemptId: '', state: 'online' } });
    expect(rig.agent.status().ssid).toBe('LabNet');
    const list = (await c.request(3, 'wifi.list')) as { result: { networks: { ssid: string }[] } };
    expect(list.result.networks.map((n) => n.ssid).sort()).toEqual(['CoffeeShop', 'LabNet']);
  });

  it('wifi.add refuses a bad passphrase with -32602 and the stable code', async () => {
    rig = await startRig();
    const c = await open();
    const res = await c.request(1, 'wifi.add', { ssid: 'LabNet', passphrase: 'short' });
    expect(res).toMatchObject({
      id: 1,
      error: { code: JSONRPC_ERRORS.INVALID_PARAMS, data: { code: 'INVALID_PASSPHRASE', retryable: false } },
    });
    expect(JSON.stringify(res)).not.toContain('short"');
    const typo = await c.request(2, 'wifi.add', { ssid: 'LabNet', password: 'correct horse' });
    expect(typo).toMatchObject({
      error: { code: JSONRPC_ERRORS.INVALID_PARAMS, data: { code: 'BAD_REQUEST' } },
    });
    const apply = await c.request(3, 'wifi.add', {
      ssid: 'LabNet',
      passphrase: 'correct horse',
      apply: 'sometime',
    });
    expect(apply).toMatchObject({ error: { code: JSONRPC_ERRORS.INVALID_PARAMS } });
  });

  it('wifi.forget by ssid removes the network; an unknown one is NETWORK_NOT_FOUND', async () => {
    rig = await startRig();
    await waitForState(rig.agent, 'setup');
    const c = await open();
    await c.request(1, 'wifi.add', { ssid: 'LabNet', passphrase: 'correct horse' });
    await waitForState(rig.agent, 'online');
    expect(await c.request(2, 'wifi.forget', { ssid: 'Nowhere' })).toMatchObject({
      error: { code: JSONRPC_ERRORS.SERVER_ERROR, data: { code: 'NETWORK_NOT_FOUND' } },
    });
    expect(await c.request(3, 'wifi.forget', { ssid: 'LabNet' })).toMatchObject({ result: { removed: 1 } });
    expect(await c.request(4, 'wifi.forget', { ssid: 'a', id: 'b' })).toMatchObject({
      error: { code: JSONRPC_ERRORS.INVALID_PARAMS },
    });
  });

  it('app.report shows up in agent.status().apps', async () => {
    rig = await startRig();
    const c = await open();
    const res = await c.request(1, 'app.report', {
      name: 'octoprint',
      state: 'degraded',
      code: 3,
      connectivity: { state: 'ok', code: 0 },
    });
    expect(res).toMatchObject({ result: { name: 'octoprint', appstate: { state: 'degraded', code: 3 } } });
    expect(rig.agent.status().apps).toEqual([
      expect.objectContaining({
        name: 'octoprint',
        appstate: { state: 'degraded', code: 3 },
        connectivity: { state: 'ok', code: 0 },
      }),
    ]);
    const bad = await c.request(2, 'app.report', { name: 'no spaces', state: 'ok', code: 0 });
    expect(bad).toMatchObject({
      error: { code: JSONRPC_ERRORS.INVALID_PARAMS, data: { code: 'BAD_REQUEST' } },
    });
    expect(await c.request(3, 'app.report', { name: 'x', state: 'happy', code: 0 })).toMatchObject({
      error: { code: -32602 },
    });
  });

  it('events.subscribe answers first, then streams state changes as notifications', async () => {
    rig = await startRig();
    await waitForState(rig.agent, 'setup');
    const sub = await open();
    const res = await sub.request(1, 'events.subscribe');
    expect(res).toEqual({ jsonrpc: '2.0', id: 1, result: { subscribed: true, state: 'setup' } });

    const other = await open();
    await other.request(1, 'wifi.add', { ssid: 'LabNet', passphrase: 'correct horse' });
    await waitForState(rig.agent, 'online');
    await waitFor(
      () =>
        sub.lines.some(
          (l) =>
            (l as { params?: AgentEvent }).params?.type === 'state' &&
            (l as { params: { state: string } }).params.state === 'online',
        ),
      'online event',
    );
    for (const line of sub.lines) {
      expect(line).toMatchObject({ jsonrpc: '2.0', method: 'event' });
      expect(line).not.toHaveProperty('id');
      expect(controlServerMessageSchema.safeParse(line).success).toBe(true);
    }
    expect(sub.lines.map((l) => (l as { params: AgentEvent }).params.type)).toContain('attempt');
  });

  it('unknown method is -32601 with UNKNOWN_METHOD', async () => {
    rig = await startRig();
    const c = await open();
    expect(await c.request(5, 'wifi.set', {})).toMatchObject({
      id: 5,
      error: { code: JSONRPC_ERRORS.METHOD_NOT_FOUND, data: { code: 'UNKNOWN_METHOD', retryable: false } },
    });
  });

  it('answers malformed lines with errors and keeps serving this and other clients', async () => {
    rig = await startRig();
    const a = await open();
    const b = await open();
    a.send('{not json\n');
    expect(await a.next()).toMatchObject([
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: JSONRPC_ERRORS.PARSE_ERROR, data: { code: 'BAD_REQUEST', retryable: false } },
      },
    ]);
    a.send('[{"jsonrpc":"2.0","id":1,"method":"status"}]\n');
    expect(await a.next()).toMatchObject([{ id: null, error: { code: JSONRPC_ERRORS.INVALID_REQUEST } }]);
    a.send('{"jsonrpc":"1.0","id":9,"method":"status"}\n');
    expect(await a.next()).toMatchObject([
      { id: 9, error: { code: JSONRPC_ERRORS.INVALID_REQUEST, data: { code: 'BAD_REQUEST' } } },
    ]);
    a.send('"just a string"\n\n   \n');
    expect(await a.next()).toMatchObject([{ id: null, error: { code: JSONRPC_ERRORS.INVALID_REQUEST } }]);
    // CRLF endings and several requests in one write are fine.
    a.send('{"jsonrpc":"2.0","id":1,"method":"status"}\r\n{"jsonrpc":"2.0","id":2,"method":"wifi.list"}\n');
    expect(await a.next(2)).toMatchObject([
      { id: 1, result: {} },
      { id: 2, result: { networks: [] } },
    ]);
    // A request split across writes is reassembled.
    a.send('{"jsonrpc":"2.0","id":3,');
    a.send('"method":"status"}\n');
    expect(await a.next()).toMatchObject([{ id: 3, result: {} }]);
    expect(await b.request(1, 'status')).toMatchObject({ result: {} });
    expect(a.closed).toBe(false);
  });

  it('answers a client that half-closes after writing (printf | socat), then closes', async () => {
    rig = await startRig();
    const c = await open();
    // The last line has no newline: EOF ends it.
    c.socket.end('{"jsonrpc":"2.0","id":1,"method":"status"}\n{"jsonrpc":"2.0","id":2,"method":"wifi.list"}');
    expect(await c.next(2)).toMatchObject([
      { id: 1, result: {} },
      { id: 2, result: { networks: [] } },
    ]);
    await waitFor(() => c.closed, 'closed after answering');
  });

  it('does not answer notifications (requests without id), but carries them out', async () => {
    rig = await startRig();
    const c = await open();
    c.send('{"jsonrpc":"2.0","method":"app.report","params":{"name":"quiet","state":"ok","code":0}}\n');
    expect(await c.request(1, 'status')).toMatchObject({ id: 1 });
    expect(c.lines).toEqual([]);
    expect(rig.agent.status().apps.map((a) => a.name)).toEqual(['quiet']);
  });

  it('answers an oversize line with PAYLOAD_TOO_LARGE and closes only that connection', async () => {
    rig = await startRig();
    const big = await open();
    const other = await open();
    big.send(`{"jsonrpc":"2.0","id":1,"method":"status","params":{"pad":"${'x'.repeat(70 * 1024)}"}}\n`);
    expect(await big.next()).toMatchObject([
      { id: null, error: { code: JSONRPC_ERRORS.INVALID_REQUEST, data: { code: 'PAYLOAD_TOO_LARGE' } } },
    ]);
    await waitFor(() => big.closed, 'oversize connection closed');
    expect(await other.request(2, 'status')).toMatchObject({ id: 2, result: {} });
    // A line under the cap with no newline yet is simply waited for.
    const slow = await open();
    slow.send(`{"jsonrpc":"2.0","id":1,"method":"status","params":{"pad":"${'y'.repeat(60 * 1024)}"}`);
    await new Promise((r) => setTimeout(r, 50));
    expect(slow.lines).toEqual([]);
    slow.send('}\n');
    expect(await slow.next()).toMatchObject([{ id: 1, error: { code: JSONRPC_ERRORS.INVALID_PARAMS } }]);
  });

  it('also closes a connection whose unterminated line grows past the cap', async () => {
    rig = await startRig();
    const c = await open();
    c.send('x'.repeat(65 * 1024));
    expect(await c.next()).toMatchObject([{ error: { data: { code: 'PAYLOAD_TOO_LARGE' } } }]);
    await waitFor(() => c.closed, 'closed');
  });

  it('bounds connections: one past the limit is told BUSY and closed', async () => {
    rig = await startRig({ maxConnections: 2 });
    await open();
    await open();
    const third = await open();
    expect(await third.next()).toMatchObject([
      { id: null, error: { code: JSONRPC_ERRORS.SERVER_ERROR, data: { code: 'BUSY', retryable: true } } },
    ]);
    await waitFor(() => third.closed, 'third closed');
    clients[0]?.close();
    await new Promise((r) => setTimeout(r, 50));
    const again = await open();
    expect(await again.request(1, 'status')).toMatchObject({ result: {} });
  });

  it('closes idle connections but keeps event subscribers', async () => {
    rig = await startRig({ idleTimeoutMs: 100 });
    const idle = await open();
    const sub = await open();
    await sub.request(1, 'events.subscribe');
    await waitFor(() => idle.closed, 'idle connection closed');
    await new Promise((r) => setTimeout(r, 200));
    expect(sub.closed).toBe(false);
    rig.agent.reportApp({ name: 'late', state: 'ok', code: 0 });
    expect(await sub.next()).toMatchObject([
      { method: 'event', params: { type: 'app', app: { name: 'late' } } },
    ]);
  });

  it('limits.reset resets the abuse counters; doctor without a doctor is BACKEND_UNAVAILABLE', async () => {
    rig = await startRig();
    expect(rig.sessions.limits.lifetimeFailures).toBe(100);
    const c = await open();
    expect(await c.request(1, 'limits.reset')).toMatchObject({
      result: { ok: true, limits: { lifetimeFailures: 0 } },
    });
    expect(rig.sessions.limits.lifetimeFailures).toBe(0);
    expect(await c.request(2, 'doctor')).toMatchObject({
      error: { code: JSONRPC_ERRORS.SERVER_ERROR, data: { code: 'BACKEND_UNAVAILABLE' } },
    });
    expect(await c.request(3, 'status', { extra: 1 })).toMatchObject({
      error: { code: JSONRPC_ERRORS.INVALID_PARAMS },
    });
    expect(await c.request(4, 'status', null)).toMatchObject({ result: {} });
  });

  it('ap.start and ap.stop reach the agent (BUSY when not possible)', async () => {
    rig = await startRig();
    await waitForState(rig.agent, 'setup');
    const seen: string[] = [];
    rig.agent.events.subscribe((e) => {
      if (e.type === 'state') seen.push(e.state);
    });
    const c = await open();
    expect(await c.request(1, 'ap.stop')).toMatchObject({ result: { ok: true } });
    // No saved network: the agent tries to connect, holds the AP down (the rig's 1 s), then setup.
    await waitFor(() => seen.includes('connecting'), 'connecting after ap.stop');
    await waitForState(rig.agent, 'setup');
    expect(await c.request(2, 'ap.start')).toMatchObject({ result: { ok: true } });
    await c.request(3, 'wifi.add', { ssid: 'LabNet', passphrase: 'correct horse' });
    await waitForState(rig.agent, 'online');
    await rig.agent.idle();
    expect(await c.request(4, 'ap.stop')).toMatchObject({
      error: { code: JSONRPC_ERRORS.SERVER_ERROR, data: { code: 'BUSY', retryable: true } },
    });
  });

  it('networks.scan lists what the sim radio hears', async () => {
    rig = await startRig();
    const c = await open();
    const res = (await c.request(1, 'networks.scan', { force: true })) as {
      result: { networks: { ssid: string }[] };
    };
    expect(res.result.networks.map((n) => n.ssid)).toContain('LabNet');
  });
});

describe('control socket: the file on disk', () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to steal a live socket and replaces a stale one', async () => {
    rig = await startRig();
    // Live: the rig's agent is listening.
    const second = startControlSocket({
      path: rig.socketPath,
      agent: rig.agent,
      sessions: rig.sessions,
      logger: silentLogger,
    });
    await expect(second).rejects.toMatchObject({ code: 'BUSY' });
    expect((await callControl(rig.socketPath, 'status')).hostname).toBe('airlift-k7q2m6xa');

    // Stale: the socket file a killed agent leaves behind (SIGKILL: nothing unlinks it).
    dir = await mkdtemp(join(tmpdir(), 'airlift-stale-'));
    const stale = join(dir, 'stale.sock');
    await leaveStaleSocket(stale);
    expect((await lstat(stale)).isSocket()).toBe(true);
    const control = await startControlSocket({
      path: stale,
      agent: rig.agent,
      sessions: rig.sessions,
      logger: silentLogger,
    });
    expect((await callControl(stale, 'status')).hostname).toBe('airlift-k7q2m6xa');
    await control.close();
  });

  it('refuses a path that is not a socket', async () => {
    rig = await startRig();
    dir = await mkdtemp(join(tmpdir(), 'airlift-notsock-'));
    const path = join(dir, 'file');
    await writeFile(path, 'precious');
    await expect(
      startControlSocket({ path, agent: rig.agent, sessions: rig.sessions, logger: silentLogger }),
    ).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });

  it('gives the socket to the configured group when it exists, and skips a missing one', async () => {
    rig = await startRig();
    dir = await mkdtemp(join(tmpdir(), 'airlift-group-'));
    const groupFile = join(dir, 'group');
    const gid = process.getgid?.() ?? 0;
    await writeFile(groupFile, `root:x:0:\nairlift-test:x:${gid}:someone\n`);
    expect(await lookupGroup('airlift-test', groupFile)).toBe(gid);
    expect(await lookupGroup('nope', groupFile)).toBeUndefined();
    await mkdir(join(dir, 'a'));
    const path = join(dir, 'a', 's.sock');
    const control = await startControlSocket({
      path,
      group: 'airlift-test',
      groupFile,
      agent: rig.agent,
      sessions: rig.sessions,
      logger: silentLogger,
    });
    expect((await stat(path)).gid).toBe(gid);
    await control.close();
    const missing = await startControlSocket({
      path,
      group: 'nope',
      groupFile,
      agent: rig.agent,
      sessions: rig.sessions,
      logger: silentLogger,
    });
    expect((await lstat(path)).mode & 0o777).toBe(0o660);
    await missing.close();
  });
});

describe('ControlClient', () => {
  it('turns error answers into AirliftErrors and a missing agent into AgentNotRunningError', async () => {
    rig = await startRig();
    const client = await ControlClient.connect(rig.socketPath);
    try {
      await expect(client.call('wifi.forget', { id: 'deadbeef' })).rejects.toMatchObject({
        code: 'NETWORK_NOT_FOUND',
      });
      await expect(client.call('wifi.forget', { id: 'deadbeef' })).rejects.toBeInstanceOf(AirliftError);
    } finally {
      client.close();
    }
    const missing = callControl(join(rig.dir, 'nothing.sock'), 'status');
    await expect(missing).rejects.toBeInstanceOf(AgentNotRunningError);
    await expect(missing).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });
});
