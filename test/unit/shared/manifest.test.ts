import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32Encode } from '../../../shared/identity';
import {
  formatManifestCsv,
  MANIFEST_MAX_CHARS,
  MANIFEST_MAX_ROWS,
  parseManifest,
  type ManifestEntry,
  type ManifestProblem,
} from '../../../shared/manifest';
import { expectAirliftError } from './expect-airlift';

const ID1 = 'K7Q2M6XA';
const ID2 = 'ABCDEFGH';
const S1 = 'MFRGGZDFMZTWQ2LKNNWG23TPOA';
const S2 = 'AAAAAAAAAAAAAAAAAAAAAAAAAA';

function problemsOf(
  text: string,
  format?: 'csv' | 'json' | 'auto',
): { message: string; errors: ManifestProblem[] } {
  const err = expectAirliftError(() => parseManifest(text, format), 'INVALID_MANIFEST');
  return { message: err.message, errors: (err.details?.errors ?? []) as ManifestProblem[] };
}

describe('parseManifest: CSV', () => {
  it('reads the minimal form', () => {
    expect(parseManifest(`deviceId,setupSecret\n${ID1},${S1}\n`)).toEqual({
      entries: [{ deviceId: ID1, setupSecret: S1, extra: {} }],
    });
  });

  it('takes columns in any order, optional labels, extra columns, BOM, CRLF and blank lines', () => {
    const csv =
      '\uFEFFsite,SetupSecret,name,batch,DEVICEID,group\r\n' +
      '\r\n' +
      `Lab 1,${S1},"Kitchen, left",B7,${ID1.toLowerCase()},north\r\n` +
      ' , , , , , \r\n' +
      `,"mfrg gzdf mztw q2lk nnwg 23tp oa",,,${ID2},\r\n`;
    expect(parseManifest(csv).entries).toEqual([
      {
        deviceId: ID1,
        setupSecret: S1,
        name: 'Kitchen, left',
        group: 'north',
        site: 'Lab 1',
        extra: { batch: 'B7' },
      },
      { deviceId: ID2, setupSecret: S1, extra: {} },
    ]);
  });

  it('reads RFC 4180 quoting: doubled quotes and line breaks inside fields', () => {
    const csv = `deviceId,setupSecret,name,note\n${ID1},${S1},"say ""hi""","two\r\nlines"\n${ID2},${S2},x,\n`;
    const { entries } = parseManifest(csv);
    expect(entries[0]?.name).toBe('say "hi"');
    expect(entries[0]?.extra.note).toBe('two\r\nlines');
    expect(entries[1]?.deviceId).toBe(ID2);
  });

  it('accepts a last line without a line break, and lone CR line ends', () => {
    expect(parseManifest(`deviceId,setupSecret\r${ID1},${S1}`).entries).toHaveLength(1);
  });

  it('ignores an unnamed trailing column when it is empty', () => {
    expect(parseManifest(`deviceId,setupSecret,\n${ID1},${S1},\n`).entries).toHaveLength(1);
    const { message } = problemsOf(`deviceId,setupSecret,\n${ID1},${S1},oops\n`);
    expect(message).toContain('line 2');
  });

  it('keeps a column called __proto__ as a plain key', () => {
    const { entries } = parseManifest(`deviceId,setupSecret,__proto__\n${ID1},${S1},polluted\n`);
    const extra = entries[0]?.extra ?? {};
    expect(Object.getPrototypeOf(extra)).toBe(Object.prototype);
    expect(Object.hasOwn(extra, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each<[string, string, RegExp]>([
    [
      'no header',
      `${ID1},${S1}\n`,
      /line 1: header lacks the columns deviceId and setupSecret \(the first line looks like a device/,
    ],
    ['a missing column', `deviceId,name\n${ID1},x\n`, /line 1: header lacks the column setupSecret/],
    ['semicolons', `deviceId;setupSecret\n${ID1};${S1}\n`, /semicolons/],
    ['a duplicate column', `deviceId,setupSecret,DeviceId\n`, /line 1: header names column "DeviceId" twice/],
    ['an unclosed quote', `deviceId,setupSecret\n${ID1},"${S1}\n`, /line 2: quoted field is never closed/],
    [
      'text after a closing quote',
      `deviceId,setupSecret\n"${ID1}"x,${S1}\n`,
      /line 2: unexpected character after a closing quote/,
    ],
    ['a bare quote', `deviceId,setupSecret\n${ID1},ab"c\n`, /line 2: quote inside an unquoted field/],
    ['only a header', 'deviceId,setupSecret\r\n', /no device records/],
    ['nothing', '', /no header row/],
  ])('refuses %s', (_what, csv, message) => {
    expect(problemsOf(csv, 'csv').message).toMatch(message);
  });

  it('names line, record and field of each bad row, and keeps secrets out', () => {
    const badSecret = 'MFRGGZDFMZTWQ2LKNNWG23TPO1';
    const csv = [
      'deviceId,setupSecret,name',
      `${ID1},${S1},ok`,
      `"bad id",${S2},x`,
      `${ID2},${badSecret},y`,
      `${ID1},${S2},dup`,
      `${ID2.replace('A', 'B')},${S2}`,
      `BBBBBBBB,,ctl\u0007`,
    ].join('\n');
    const { message, errors } = problemsOf(csv);
    expect(message).toMatch(/^Invalid manifest: line 3, deviceId: .*\(and 5 more problems\)$/);
    expect(errors.map((e) => [e.line, e.record, e.field])).toEqual([
      [3, 2, 'deviceId'],
      [4, 3, 'setupSecret'],
      [5, 4, 'deviceId'],
      [6, 5, undefined],
      [7, 6, 'setupSecret'],
      [7, 6, 'name'],
    ]);
    expect(errors[2]?.message).toBe(`line 5, deviceId: deviceId ${ID1} already appears on line 2`);
    expect(errors[3]?.message).toContain('has 2 fields; the header has 3');
    expect(errors[4]?.message).toContain('setupSecret is missing');
    expect(JSON.stringify(errors)).not.toContain(badSecret.slice(0, 20));
  });

  it('reports at most 20 problems but counts them all', () => {
    const rows = Array.from({ length: 30 }, (_, i) => `bad${i},${S1}`);
    const err = expectAirliftError(
      () => parseManifest(['deviceId,setupSecret', ...rows].join('\n')),
      'INVALID_MANIFEST',
    );
    expect(err.details?.errors).toHaveLength(20);
    expect(err.details?.total).toBe(30);
    expect(err.message).toContain('and 29 more problems');
  });

  it('caps size and rows', () => {
    expect(problemsOf('x'.repeat(MANIFEST_MAX_CHARS + 1)).message).toMatch(/larger than 10 MiB/);
    const row = `${ID1},${S1}\n`;
    const tooMany = `deviceId,setupSecret\n${row.repeat(MANIFEST_MAX_ROWS + 1)}`;
    expect(problemsOf(tooMany).message).toMatch(/more than 100000 device records/);
  });
});

describe('parseManifest: JSON', () => {
  it('reads an array or {devices: [...]}, with extra fields as strings', () => {
    const records = [
      { deviceId: ID1, setupSecret: S1, name: 'Kitchen', batch: 7, tested: true, site: null },
      { DeviceID: ID2, setupSecret: 'mfrg-gzdf-mztw-q2lk-nnwg-23tp-oa', group: ' g ' },
    ];
    const expected: ManifestEntry[] = [
      { deviceId: ID1, setupSecret: S1, name: 'Kitchen', extra: { batch: '7', tested: 'true' } },
      { deviceId: ID2, setupSecret: S1, group: 'g', extra: {} },
    ];
    expect(parseManifest(JSON.stringify(records)).entries).toEqual(expected);
    expect(parseManifest(`\uFEFF  ${JSON.stringify({ devices: records })}`).entries).toEqual(expected);
  });

  it('keeps a __proto__ key as a plain key', () => {
    const { entries } = parseManifest(`[{"deviceId":"${ID1}","setupSecret":"${S1}","__proto__":"x"}]`);
    expect(Object.hasOwn(entries[0]?.extra ?? {}, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(entries[0]?.extra)).toBe(Object.prototype);
  });

  it('reports syntax errors by position without quoting the text', () => {
    const text = `[{"deviceId":"${ID1}","setupSecret":"${S1}" "x"}]`;
    const { message } = problemsOf(text);
    expect(message).toMatch(/not valid JSON/);
    expect(message).not.toContain(S1);
  });

  it.each<[string, unknown, RegExp]>([
    ['an object without devices', { device: [] }, /array of device records/],
    ['a string', 'hello', /array of device records/],
    ['an empty list', [], /no device records/],
    ['a non-object record', [42], /record 1: must be an object/],
    [
      'a numeric deviceId',
      [{ deviceId: 12345678, setupSecret: S1 }],
      /record 1, deviceId: deviceId must be a string/,
    ],
    [
      'a nested extra',
      [{ deviceId: ID1, setupSecret: S1, meta: {} }],
      /record 1, "meta": extra fields must be/,
    ],
    ['a field twice', [{ deviceId: ID1, DEVICEID: ID2, setupSecret: S1 }], /appears twice/],
    ['a missing secret', [{ deviceId: ID1 }], /record 1, setupSecret: setupSecret is missing/],
    [
      'duplicate ids',
      [
        { deviceId: ID1, setupSecret: S1 },
        { deviceId: ID1.toLowerCase(), setupSecret: S2 },
      ],
      /record 2, deviceId: deviceId K7Q2M6XA already appears on record 1/,
    ],
  ])('refuses %s', (_what, value, message) => {
    expect(problemsOf(JSON.stringify(value), 'json').message).toMatch(message);
  });

  it('honours a forced format', () => {
    expect(problemsOf(`deviceId,setupSecret\n${ID1},${S1}\n`, 'json').message).toMatch(/not valid JSON/);
    expect(problemsOf(JSON.stringify([{ deviceId: ID1, setupSecret: S1 }]), 'csv').message).toMatch(/line 1/);
  });
});

describe('the setupAddress column', () => {
  it('takes 10.0.0.1, and empty or "derived" as the address derived from the id', () => {
    const { entries } = parseManifest(
      `deviceId,setupSecret,setupAddress\n${ID1},${S1},10.0.0.1\n${ID2},${S2}, derived \n`,
    );
    expect(entries[0]?.setupAddress).toBe('10.0.0.1');
    expect(entries[1]).not.toHaveProperty('setupAddress');
    expect(
      parseManifest(JSON.stringify([{ deviceId: ID1, setupSecret: S1, setupAddress: '10.0.0.1' }]))
        .entries[0],
    ).toMatchObject({ setupAddress: '10.0.0.1' });
  });

  it('refuses any other address, saying which it takes', () => {
    expect(problemsOf(`deviceId,setupSecret,setupAddress\n${ID1},${S1},192.168.4.1\n`).message).toMatch(
      /setupAddress must be empty, "derived" or 10\.0\.0\.1/,
    );
  });
});

describe('formatManifestCsv', () => {
  it('writes the known columns then extras, quoting only when needed', () => {
    const csv = formatManifestCsv([
      { deviceId: ID1, setupSecret: S1, name: 'Kitchen, left', extra: { note: 'say "hi"' } },
      { deviceId: ID2, setupSecret: S2, site: 'Lab', extra: { batch: 'B7' } },
    ]);
    expect(csv).toBe(
      'deviceId,setupSecret,name,group,site,note,batch\r\n' +
        `${ID1},${S1},"Kitchen, left",,,"say ""hi""",\r\n` +
        `${ID2},${S2},,,Lab,,B7\r\n`,
    );
  });

  it('writes setupAddress only when a device has one, and reads it back', () => {
    const csv = formatManifestCsv([
      { deviceId: ID1, setupSecret: S1, setupAddress: '10.0.0.1', extra: {} },
      { deviceId: ID2, setupSecret: S2, extra: {} },
    ]);
    expect(csv.split('\r\n')[0]).toBe('deviceId,setupSecret,name,group,site,setupAddress');
    const back = parseManifest(csv).entries;
    expect(back[0]?.setupAddress).toBe('10.0.0.1');
    expect(back[1]).not.toHaveProperty('setupAddress');
  });

  it.each<[string, ManifestEntry[], string]>([
    ['a bad id', [{ deviceId: 'x', setupSecret: S1, extra: {} }], 'INVALID_DEVICE_ID'],
    ['a bad secret', [{ deviceId: ID1, setupSecret: 'x', extra: {} }], 'INVALID_SECRET'],
    [
      'duplicate ids',
      [
        { deviceId: ID1, setupSecret: S1, extra: {} },
        { deviceId: ID1, setupSecret: S2, extra: {} },
      ],
      'INVALID_MANIFEST',
    ],
    [
      'an extra named like a column',
      [{ deviceId: ID1, setupSecret: S1, extra: { Name: 'x' } }],
      'INVALID_MANIFEST',
    ],
    ['an extra with padding', [{ deviceId: ID1, setupSecret: S1, extra: { ' x': 'x' } }], 'INVALID_MANIFEST'],
    [
      'a name with a newline',
      [{ deviceId: ID1, setupSecret: S1, name: 'a\nb', extra: {} }],
      'INVALID_MANIFEST',
    ],
  ])('refuses %s', (_what, entries, code) => {
    expectAirliftError(() => formatManifestCsv(entries), code as 'INVALID_MANIFEST');
  });

  it('round trips with parseManifest', () => {
    const trimmed = (arb: fc.Arbitrary<string>): fc.Arbitrary<string> =>
      arb.filter((s) => s !== '' && s.trim() === s);
    const label = trimmed(fc.string({ unit: 'grapheme', maxLength: 12 })).filter((s) => !/\p{Cc}/u.test(s));
    const value = trimmed(
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('a,b', 'x"y', 'l1\r\nl2', '=1+2')),
    );
    const extraKeys = fc.uniqueArray(
      trimmed(
        fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'a,b', 'q"k', 'constructor')),
      ).filter((k) => !['deviceid', 'setupsecret', 'name', 'group', 'site'].includes(k.toLowerCase())),
      { maxLength: 4, selector: (k) => k.toLowerCase() },
    );
    const entries = extraKeys.chain((keys) =>
      fc.uniqueArray(
        fc.record(
          {
            deviceId: fc.uint8Array({ minLength: 5, maxLength: 5 }).map(base32Encode),
            setupSecret: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(base32Encode),
            name: label,
            group: label,
            site: label,
            extra: fc
              .tuple(
                ...keys.map((k) =>
                  fc.option(
                    value.map((v): [string, string] => [k, v]),
                    { nil: undefined },
                  ),
                ),
              )
              .map((pairs) => Object.fromEntries(pairs.filter((p) => p !== undefined))),
          },
          { requiredKeys: ['deviceId', 'setupSecret', 'extra'] },
        ),
        { minLength: 1, maxLength: 6, selector: (e) => e.deviceId },
      ),
    );
    fc.assert(
      fc.property(entries, (list) => {
        const csv = formatManifestCsv(list);
        expect(parseManifest(csv).entries).toEqual(list);
        expect(formatManifestCsv(parseManifest(csv, 'csv').entries)).toBe(csv);
      }),
      { numRuns: 300 },
    );
  });
});
