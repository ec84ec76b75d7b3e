/**
 * Just enough of the classic pcap format (what `tcpdump -w` writes) to read what crossed a bridge:
 * Ethernet → IPv4 → TCP/UDP, and each TCP direction's bytes in order (retransmissions dropped).
 */
import { readFileSync } from 'node:fs';

export interface Packet {
  ts: number;
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'other';
  sport: number;
  dport: number;
  /** TCP sequence number (tcp only). */
  seq: number;
  payload: Buffer;
  /** The whole frame, for searches that must not depend on parsing. */
  frame: Buffer;
}

const ip4 = (b: Buffer, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function readPcap(path: string): Packet[] {
  const buf = readFileSync(path);
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`${path}: not a pcap file`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  const packets: Packet[] = [];
  for (let off = 24; off + 16 <= buf.length;) {
    const ts = u32(off) + u32(off + 4) / 1e6;
    const incl = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    // DLT_EN10MB (1), or Linux cooked (113) when captured on `any`.
    const l3 = linkType === 1 ? 14 : linkType === 113 ? 16 : -1;
    const etherType = linkType === 1 ? frame.readUInt16BE(12) : linkType === 113 ? frame.readUInt16BE(14) : 0;
    const empty = { ts, src: '', dst: '', proto: 'other' as const, sport: 0, dport: 0, seq: 0, frame };
    if (l3 < 0 || etherType !== 0x0800 || frame.length < l3 + 20) {
      packets.push({ ...empty, payload: Buffer.alloc(0) });
      continue;
    }
    const ihl = ((frame[l3] ?? 0) & 0x0f) * 4;
    const total = frame.readUInt16BE(l3 + 2);
    const proto = frame[l3 + 9];
    const src = ip4(frame, l3 + 12);
    const dst = ip4(frame, l3 + 16);
    const l4 = l3 + ihl;
    const end = Math.min(frame.length, l3 + total);
    if (proto === 6 && frame.length >= l4 + 20) {
      const dataOff = (((frame[l4 + 12] ?? 0) >> 4) & 0x0f) * 4;
      packets.push({
        ts,
        src,
        dst,
        proto: 'tcp',
        sport: frame.readUInt16BE(l4),
        dport: frame.readUInt16BE(l4 + 2),
        seq: frame.readUInt32BE(l4 + 4),
        payload: frame.subarray(l4 + dataOff, end),
        frame,
      });
    } else if (proto === 17 && frame.length >= l4 + 8) {
      packets.push({
        ts,
        src,
        dst,
        proto: 'udp',
        sport: frame.readUInt16BE(l4),
        dport: frame.readUInt16BE(l4 + 2),
        seq: 0,
        payload: frame.subarray(l4 + 8, end),
        frame,
      });
    } else packets.push({ ...empty, src, dst, payload: frame.subarray(l4, end) });
  }
  return packets;
}

/** Each TCP direction's bytes, in capture order with repeated segments (same seq) dropped. */
export function tcpStreams(packets: readonly Packet[]): Map<string, Buffer> {
  const parts = new Map<string, Buffer[]>();
  const seen = new Set<string>();
  for (const p of packets) {
    if (p.proto !== 'tcp' || p.payload.length === 0) continue;
    const flow = `${p.src}:${p.sport}>${p.dst}:${p.dport}`;
    const key = `${flow}#${p.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let list = parts.get(flow);
    if (!list) parts.set(flow, (list = []));
    list.push(p.payload);
  }
  return new Map([...parts].map(([k, v]) => [k, Buffer.concat(v)]));
}
