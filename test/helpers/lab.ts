/** Test helpers around lab devices: a station-side session, polling, raw HTTP. */
import { request } from 'node:http';
import { expect } from 'vitest';
import { deriveProverSecrets } from '../../shared/crypto/airlift';
import { openSession, type SecureSession } from '../../shared/session/client';
import type { DeviceStatus } from '../../shared/protocol/api';
import type { LabDevice } from '../../lab/lab-device';

export const LAB_ID = 'K7Q2M6XA';
export const LAB_SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYQ';
export const LABNET_HEX = Buffer.from('LabNet').toString('hex');

export function open(device: LabDevice, secret = LAB_SECRET, deviceId = LAB_ID): Promise<SecureSession> {
  return openSession({
    baseUrl: device.url,
    deviceId,
    deriveSecrets: (salt, iter) => deriveProverSecrets(secret, deviceId, salt, iter),
    fetch: (url, init) => fetch(url, init),
  });
}

export async function getJson<T = unknown>(device: LabDevice, path: string): Promise<T> {
  const res = await fetch(device.url + path);
  return (await res.json()) as T;
}

export async function status(device: LabDevice): Promise<DeviceStatus> {
  return getJson<DeviceStatus>(device, '/v1/status');
}

/** Poll until `pred` holds (real time; the sim radio runs at timeScale 0 in these tests). */
export async function waitFor<T>(
  get: () => Promise<T> | T,
  pred: (v: T) => boolean,
  what: string,
  ms = 5000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: T = await get();
  while (!pred(last)) {
    if (Date.now() > end) expect.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 10));
    last = await get();
  }
  return last;
}

export interface RawResponse {
  status: number;
  body: string;
}

/** A raw HTTP request with exact headers (fetch would add or refuse some). */
export function raw(
  url: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path: opts.path,
        headers: opts.headers,
        setHost: !opts.headers?.['Host'],
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
