import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DelimiterFramer,
  NEWLINE,
  NUL,
  readFrames,
  readLines,
  type FrameItem,
} from '../../../platform/framing';

const text = (items: FrameItem[]): string[] =>
  items.map((i) => (i.kind === 'frame' ? i.bytes.toString('utf8') : '<oversize>'));

describe('DelimiterFramer', () => {
  it('splits on the delimiter across chunk boundaries and within one chunk', () => {
    const f = new DelimiterFramer({ delimiter: NUL, maxFrameBytes: 100 });
    expect(text(f.push(Buffer.from('{"a"')))).toEqual([]);
    expect(text(f.push(Buffer.from(':1}\0{"b":2}\0{"c"')))).toEqual(['{"a":1}', '{"b":2}']);
    expect(text(f.push(Buffer.from(':3}\0')))).toEqual(['{"c":3}']);
    expect(text(f.push(Buffer.from('\0\0')))).toEqual(['', '']);
    expect(f.end()).toBeUndefined();
  });

  it('keeps a frame of exactly the limit and reports a longer one once, then resumes after it', () => {
    const f = new DelimiterFramer({ delimiter: NEWLINE, maxFrameBytes: 4 });
    expect(text(f.push(Buffer.from('abcd\nabcde\nok\n')))).toEqual(['abcd', '<oversize>', 'ok']);
    // An oversize frame spread over chunks: reported when it passes the limit, then skipped to its end.
    expect(text(f.push(Buffer.from('ab')))).toEqual([]);
    expect(text(f.push(Buffer.from('cde')))).toEqual(['<oversize>']);
    expect(text(f.push(Buffer.from('x'.repeat(10_000))))).toEqual([]);
    expect(text(f.push(Buffer.from('yyy\nnext\n')))).toEqual(['next']);
  });

  it('never holds more than the limit of an endless frame', () => {
    const f = new DelimiterFramer({ delimiter: NUL, maxFrameBytes: 1024 });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const seen: FrameItem[] = [];
    for (let i = 0; i < 100; i++) seen.push(...f.push(chunk));
    expect(seen).toEqual([{ kind: 'oversize' }]);
    // What it holds of the frame: nothing (the frame is dropped), so `end` has nothing to give.
    expect(f.end()).toBeUndefined();
  });

  it('gives the unterminated last frame at the end, unless it was oversize', () => {
    const f = new DelimiterFramer({ delimiter: NEWLINE, maxFrameBytes: 10 });
    f.push(Buffer.from('done\npart'));
    f.push(Buffer.from('ial'));
    expect(f.end()?.toString()).toBe('partial');
    expect(f.end()).toBeUndefined();
    f.push(Buffer.from('x'.repeat(11)));
    expect(f.end()).toBeUndefined();
  });

  it('frames any split of the stream the same way (property)', () => {
    const frame = fc.string({ maxLength: 12 }).map((s) => s.replace(/\n/g, ''));
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (frames, cuts) => {
        const stream = Buffer.from(frames.map((f) => `${f}\n`).join(''));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const f = new DelimiterFramer({ delimiter: NEWLINE, maxFrameBytes: 40 });
        const out: FrameItem[] = [];
        let at = 0;
        for (const p of [...points, stream.length]) {
          out.push(...f.push(stream.subarray(at, p)));
          at = p;
        }
        expect(text(out)).toEqual(frames);
      }),
    );
  });
});

describe('readFrames and readLines', () => {
  it('frames a stream and hands over the unterminated last frame at its end', async () => {
    const stream = new PassThrough();
    const items: string[] = [];
    const ended = new Promise<string | undefined>((resolve) => {
      readFrames(stream, {
        delimiter: NEWLINE,
        maxFrameBytes: 8,
        onItem: (i) => items.push(i.kind === 'frame' ? i.bytes.toString() : '<oversize>'),
        onEnd: (last) => resolve(last?.toString()),
      });
    });
    stream.write('one\ntwo');
    stream.write('\nthis is too long\nlast');
    stream.end();
    expect(await ended).toBe('last');
    expect(items).toEqual(['one', 'two', '<oversize>']);
  });

  it('reads text lines, CRLF included, the last without a newline, dropping overlong ones', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    readLines(stream, 24, (l) => lines.push(l));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    stream.end(`CTRL-EVENT-CONNECTED\r\n${'x'.repeat(25)}\nnaïve\ntail`);
    await ended;
    expect(lines).toEqual(['CTRL-EVENT-CONNECTED', 'naïve', 'tail']);
  });
});
