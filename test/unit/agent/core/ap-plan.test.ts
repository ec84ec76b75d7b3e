/** The setup AP's hardware rules (agent/core/ap-plan.ts), as tables. */
import { describe, expect, it } from 'vitest';
import {
  apChannelRefusal,
  apMacFor,
  channelOfFrequency,
  channelOfTarget,
  followStation,
  planApAfterJoin,
  planApForJoin,
  planApStart,
  type ApNow,
  type ApRadio,
  type JoinApPlan,
} from '../../../../agent/core/ap-plan';
import type { ScanResult } from '../../../../shared/protocol/wifi';

const TURNS: ApRadio = { apSta: false, singleChannel: false }; // one interface: AP and station take turns
const TWO: ApRadio = { apSta: true, singleChannel: false }; // AP+STA on two channels
const ONE: ApRadio = { apSta: true, singleChannel: true }; // AP+STA, one channel, no country
const ONE_DE: ApRadio = { ...ONE, country: 'DE' };

const up = (channel: number, beaconing = true, configured = 1): ApNow => ({
  up: true,
  beaconing,
  channel,
  configured,
});
const DOWN: ApNow = { up: false, beaconing: false, configured: 1 };

describe('channels', () => {
  it.each([
    [2412, 1],
    [2437, 6],
    [2472, 13],
    [2484, 14],
    [5180, 36],
    [5500, 100],
    [5825, 165],
    [2400, undefined],
    [2413, undefined],
    [5950, undefined],
  ])('%i MHz is channel %s', (mhz, channel) => {
    expect(channelOfFrequency(mhz)).toBe(channel);
  });

  it.each([
    // channel, country, refused?
    [1, undefined, undefined],
    [14, undefined, undefined],
    [36, undefined, /5 GHz and no regulatory country/],
    [36, 'DE', undefined],
    [52, 'DE', /DFS/],
    [100, undefined, /DFS/],
    [144, 'US', /DFS/],
    [149, 'US', undefined],
    [165, undefined, /5 GHz/],
  ])('channel %i with country %s: refused %s', (channel, country, refused) => {
    const reason = apChannelRefusal(channel, country);
    if (refused === undefined) expect(reason).toBeUndefined();
    else expect(reason).toMatch(refused);
  });

  it("a target's channel: its strongest access point in the scan, by SSID bytes", () => {
    const ap = (ssidHex: string, frequency: number, signal: number): ScanResult => ({
      ssid: '',
      ssidHex,
      bssid: '02:00:00:00:00:01',
      frequency,
      signal,
      security: 'wpa2-psk',
      known: false,
    });
    const scan = [ap('486f6d65', 2412, -70), ap('486F6D65', 5180, -50), ap('4f74686572', 2462, -30)];
    expect(channelOfTarget(scan, '486f6d65')).toBe(36);
    expect(channelOfTarget(scan, '4e6f6e65')).toBeUndefined();
  });
});

describe('planApStart', () => {
  it.each<[string, ApRadio, number | undefined, ReturnType<typeof planApStart>]>([
    ['one interface: the station gives way', TURNS, 6, { channel: 1, station: 'stops' }],
    ['two channels: the configured one', TWO, 6, { channel: 1, station: 'stays' }],
    ['one channel, station not associated: configured', ONE, undefined, { channel: 1, station: 'stays' }],
    ['one channel: the station decides', ONE, 11, { channel: 11, station: 'stays' }],
    ['one channel, station on 5 GHz, no country: it leaves', ONE, 36, { channel: 1, station: 'leaves' }],
    ['one channel, station on 5 GHz with a country: followed', ONE_DE, 36, { channel: 36, station: 'stays' }],
    ['one channel, station on DFS: it leaves', ONE_DE, 100, { channel: 1, station: 'leaves' }],
  ])('%s', (_what, radio, station, expected) => {
    expect(planApStart(radio, 1, station)).toMatchObject(expected);
  });

  it('says why the station leaves', () => {
    expect(planApStart(ONE_DE, 1, 100).reason).toMatch(/channel 100 is a DFS channel/);
  });
});

describe('planApForJoin', () => {
  it.each<[string, ApRadio, ApNow, number | undefined, boolean, JoinApPlan['kind']]>([
    ['no AP up: nothing to plan', ONE, DOWN, 6, true, 'keep'],
    ['not asked to keep the AP', TWO, up(1), 6, false, 'down'],
    ['no AP+STA: the AP cannot stay', TURNS, up(1), 6, true, 'down'],
    ['two channels: the AP stays on its own', TWO, up(1), 11, true, 'keep'],
    ['one channel, target on the AP channel', ONE, up(6), 6, true, 'keep'],
    ['one channel, target elsewhere', ONE, up(1), 6, true, 'pause'],
    ['one channel, target not in the scan', ONE, up(1), undefined, true, 'pause'],
    ['one channel, target on 5 GHz without a country', ONE, up(1), 36, true, 'turns'],
    ['one channel, target on 5 GHz with a country', ONE_DE, up(1), 36, true, 'pause'],
    ['one channel, target on DFS even with a country', ONE_DE, up(1), 100, true, 'turns'],
  ])('%s → %s', (_what, radio, ap, target, keepAp, kind) => {
    expect(planApForJoin(radio, ap, target, keepAp).kind).toBe(kind);
  });

  it('says why', () => {
    expect(planApForJoin(ONE, up(1), 6, true)).toEqual({
      kind: 'pause',
      reason: 'one channel for AP and station, the AP on 1, the network on 6',
    });
    const reason = (plan: JoinApPlan) => (plan.kind === 'pause' || plan.kind === 'turns' ? plan.reason : '');
    expect(reason(planApForJoin(ONE, up(1), undefined, true))).toMatch(/an unknown channel/);
    expect(reason(planApForJoin(ONE, up(1), 36, true))).toMatch(/5 GHz/);
  });
});

describe('planApAfterJoin', () => {
  const pause: JoinApPlan = { kind: 'pause', reason: '' };
  const turns: JoinApPlan = { kind: 'turns', reason: '' };
  const keep: JoinApPlan = { kind: 'keep' };
  const down: JoinApPlan = { kind: 'down' };
  it.each<
    [string, ApRadio, JoinApPlan, boolean, ApNow, number | undefined, ReturnType<typeof planApAfterJoin>]
  >([
    ['down: the machine decides', ONE, down, false, DOWN, undefined, { kind: 'none' }],
    ['turns, joined: the AP stays down', ONE, turns, true, DOWN, 36, { kind: 'none' }],
    ['turns, failed: the AP comes back', ONE, turns, false, DOWN, undefined, { kind: 'start' }],
    [
      'paused, joined: onto the station channel',
      ONE,
      pause,
      true,
      up(1, false),
      6,
      { kind: 'restart', channel: 6 },
    ],
    [
      'paused, failed: back on its configured channel',
      ONE,
      pause,
      false,
      up(1, false),
      undefined,
      { kind: 'restart', channel: 1 },
    ],
    [
      'paused, joined, station channel unknown: configured',
      ONE,
      pause,
      true,
      up(1, false),
      undefined,
      { kind: 'restart', channel: 1 },
    ],
    [
      'kept, one channel, the station moved: follow',
      ONE,
      keep,
      true,
      up(6),
      11,
      { kind: 'restart', channel: 11 },
    ],
    ['kept, one channel, same channel: nothing', ONE, keep, true, up(6), 6, { kind: 'none' }],
    ['kept, two channels: nothing', TWO, keep, true, up(1), 11, { kind: 'none' }],
    ['kept, failed: nothing', ONE, keep, false, up(6), undefined, { kind: 'none' }],
  ])('%s', (_what, radio, plan, ok, ap, station, expected) => {
    expect(planApAfterJoin(radio, plan, ok, ap, station)).toEqual(expected);
  });

  it('the station ended up on a channel the AP may not follow to: the AP stops', () => {
    expect(planApAfterJoin(ONE, pause, true, up(1, false), 36)).toMatchObject({ kind: 'stop' });
    const dfs = followStation(ONE_DE, up(6), 120);
    expect(dfs.kind === 'stop' ? dfs.reason : '').toMatch(/DFS/);
    expect(followStation(ONE_DE, up(6), 36)).toEqual({ kind: 'restart', channel: 36 });
    expect(followStation(ONE, DOWN, 6)).toEqual({ kind: 'none' });
  });
});

describe('apMacFor', () => {
  it.each([
    ['B8:27:EB:12:34:56', 'ba:27:eb:12:34:56'], // the locally administered bit set
    ['ba:27:eb:12:34:56', 'ba:27:eb:12:34:57'], // already local: the last bit flipped
    ['03:00:00:00:00:01', '02:00:00:00:00:01'], // the group bit cleared
    ['not a mac', undefined],
    ['b8:27:eb:12:34', undefined],
  ])('%s → %s', (station, ap) => {
    expect(apMacFor(station)).toBe(ap);
  });
});
