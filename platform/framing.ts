/**
 * Delimiter framing of a byte stream (newline-delimited JSON on the control socket, NUL-terminated
 * JSON on netconnectd's socket, lines of a child's output), bounded: the framer never holds more than
 * `maxFrameBytes` of one frame, whatever a peer sends, so an endless frame cannot exhaust memory.
 */
import type { Readable } from 'node:stream';

export const NEWLINE = 0x0a;
export const NUL = 0x00;

/** A complete frame (delimiter excluded), or word that one was longer than the limit. */
export type FrameItem = { kind: 'frame'; bytes: Buffer } | { kind: 'oversize' };

export interface FramerOptions {
  /** The byte that ends each frame. */
  delimiter: number;
  /** Longest frame kept, delimiter excluded; a longer one is reported once as `oversize`. */
  maxFrameBytes: number;
}

/**
 * Splits chunks into frames. An oversize frame is reported once, when it passes the limit; its
 * bytes are dropped up to the next delimiter and framing resumes after it. A caller that must stop
 * at an oversize frame (a protocol peer that broke the rules) stops reading there.
 */
export class DelimiterFramer {
  private readonly delimiter: number;
  private readonly max: number;
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside an oversize frame: drop bytes until the next delimiter. */
  private skipping = false;

  constructor({ delimiter, maxFrameBytes }: FramerOptions) {
    this.delimiter = delimiter;
    this.max = maxFrameBytes;
  }

  /** The frames `chunk` completes, in order. */
  push(chunk: Buffer): FrameItem[] {
    const items: FrameItem[] = [];
    let rest = chunk;
    while (rest.length > 0) {
      const at = rest.indexOf(this.delimiter);
      const piece = at === -1 ? rest : rest.subarray(0, at);
      if (this.skipping) {
        // Still inside a frame already reported.
      } else if (this.size + piece.length > this.max) {
        this.parts = [];
        this.size = 0;
        this.skipping = true;
        items.push({ kind: 'oversize' });
      } else if (at === -1) {
        this.parts.push(piece);
        this.size += piece.length;
      } else {
        const bytes = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
        this.parts = [];
        this.size = 0;
        items.push({ kind: 'frame', bytes });
      }
      if (at === -1) break;
      this.skipping = false;
      rest = rest.subarray(at + 1);
    }
    return items;
  }

  /** At the end of the stream: the unterminated last frame, if it has any bytes and fit. */
  end(): Buffer | undefined {
    const last = this.parts.length === 0 || this.skipping ? undefined : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    return last;
  }
}

export interface ReadFramesOptions extends FramerOptions {
  /** Called for each frame and each oversize frame, in order. */
  onItem: (item: FrameItem) => void;
  /**
   * Called once at the end of the stream, with the unterminated last frame if there is one (`printf
   * '{...}' | socat ...` sends no final newline).
   */
  onEnd?: (last: Buffer | undefined) => void;
}

/** Frame everything `stream` emits (its 'data' and 'end' events). */
export function readFrames(stream: Readable, { onItem, onEnd, ...framing }: ReadFramesOptions): void {
  const framer = new DelimiterFramer(framing);
  stream.on('data', (chunk: Buffer) => {
    for (const item of framer.push(chunk)) onItem(item);
  });
  stream.on('end', () => onEnd?.(framer.end()));
}

/**
 * Every line of a text stream (`\n`-terminated, a trailing `\r` removed) to `onLine`, the last one
 * even without a newline. Lines longer than `maxLineBytes` are dropped.
 */
export function readLines(stream: Readable, maxLineBytes: number, onLine: (line: string) => void): void {
  const text = (bytes: Buffer): string => bytes.toString('utf8').replace(/\r$/, '');
  readFrames(stream, {
    delimiter: NEWLINE,
    maxFrameBytes: maxLineBytes,
    onItem: (item) => {
      if (item.kind === 'frame') onLine(text(item.bytes));
    },
    onEnd: (last) => {
      if (last !== undefined) onLine(text(last));
    },
  });
}
