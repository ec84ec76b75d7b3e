/** iw parsers on recorded-format `iw list` and `iw dev X station dump` output (test/fixtures/iw/). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  combinationAllowsApSta,
  parseIwBands,
  parseIwCombinationList,
  parseIwCombinations,
  parseIwStationCount,
  pickIwWiphy,
  splitIwWiphys,
} from '../../../../shared/linux-tools/iw';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../fixtures/iw/${name}`, import.meta.url), 'utf8');

describe('parseIwCombinations', () => {
  it('brcmfmac (Raspberry Pi): AP and managed on one channel → AP+STA', () => {
    const text = fixture('list-brcmfmac-rpi.txt');
    expect(parseIwCombinationList(text)).toEqual([
      {
        groups: [
          { types: ['managed'], max: 1 },
          { types: ['P2P-device'], max: 1 },
          { types: ['P2P-client', 'P2P-GO'], max: 1 },
        ],
        total: 3,
        channels: 2,
      },
      {
        groups: [
          { types: ['managed'], max: 1 },
          { types: ['AP'], max: 1 },
          { types: ['P2P-client'], max: 1 },
          { types: ['P2P-device'], max: 1 },
        ],
        total: 4,
        channels: 1,
      },
    ]);
    expect(parseIwCombinations(text)).toEqual({ concurrentApSta: true });
  });

  it('one slot shared by AP and managed is not AP+STA; bullets after the section do not count', () => {
    const text = fixture('list-sta-only.txt');
    expect(parseIwCombinationList(text)).toHaveLength(2);
    expect(parseIwCombinations(text)).toEqual({ concurrentApSta: false });
  });

  it('ath9k style: wrapped items with radar widths, and a shared group of two', () => {
    const list = parseIwCombinationList(fixture('list-ath9k-shared-group.txt'));
    expect(list.map((c) => [c.total, c.channels])).toEqual([
      [2048, 1],
      [2, 1],
    ]);
    expect(list.map(combinationAllowsApSta)).toEqual([true, true]);
    expect(parseIwCombinations(fixture('list-ath9k-shared-group.txt')).concurrentApSta).toBe(true);
  });

  it('no combinations section, or empty input → false', () => {
    expect(parseIwCombinations(fixture('list-no-combinations.txt'))).toEqual({ concurrentApSta: false });
    expect(parseIwCombinations('')).toEqual({ concurrentApSta: false });
  });

  it('total below 2 refuses AP+STA even with separate groups', () => {
    const text =
      'Wiphy phy0\n\tvalid interface combinations:\n\t\t * #{ managed } <= 1, #{ AP } <= 1,\n\t\t   total <= 1, #channels <= 1\n';
    expect(parseIwCombinations(text).concurrentApSta).toBe(false);
    expect(parseIwCombinations(text.replace('total <= 1', 'total <= 2')).concurrentApSta).toBe(true);
  });
});

describe('parseIwBands / parseIwStationCount', () => {
  it('reads the bands', () => {
    expect(parseIwBands(fixture('list-brcmfmac-rpi.txt'))).toEqual(['2.4GHz', '5GHz']);
    expect(parseIwBands(fixture('list-sta-only.txt'))).toEqual(['2.4GHz']);
    expect(parseIwBands('')).toEqual([]);
  });

  it('counts the stations of a station dump', () => {
    expect(parseIwStationCount(fixture('station-dump.txt'))).toBe(2);
    expect(parseIwStationCount('')).toBe(0);
  });
});

describe('iw list with two radios', () => {
  const text = fixture('list-two-radios.txt');

  it('splits per wiphy; a dongle (phy1) does not lend AP+STA or 5 GHz to the built-in radio', () => {
    expect(splitIwWiphys(text).map((w) => w.name)).toEqual(['phy0', 'phy1']);
    expect(parseIwCombinations(text)).toEqual({ concurrentApSta: true }); // all radios together
    const phy0 = pickIwWiphy(text, 'phy0');
    expect(parseIwCombinations(phy0)).toEqual({ concurrentApSta: false });
    expect(parseIwBands(phy0)).toEqual(['2.4GHz']);
    expect(parseIwCombinations(pickIwWiphy(text, 'phy1'))).toEqual({ concurrentApSta: true });
    expect(parseIwBands(pickIwWiphy(text, 'phy1'))).toEqual(['2.4GHz', '5GHz']);
  });

  it('an unknown or unlisted phy: the whole text', () => {
    expect(pickIwWiphy(text, undefined)).toBe(text);
    expect(pickIwWiphy(text, 'phy7')).toBe(text);
  });
});
