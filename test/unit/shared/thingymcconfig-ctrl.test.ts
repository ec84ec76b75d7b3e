/**
 * thingymcconfig's application socket protocol, byte for byte against include/thingymcconfig/ctrl.h
 * (the numbers below are copied from its #defines and packed structs) and the way tbus.c writes and
 * reads messages; the states mapped both ways.
 */
import { describe, expect, it } from 'vitest';
import {
  THINGY,
  THINGYMCCONFIG_CTRL_SOCKET,
  THINGY_FIELD_BYTES,
  THINGY_HEADER_BYTES,
  ThingyReader,
  appStateFromThingy,
  appStateToThingy,
  encodeThingyMessage,
  thingyAppUpdate,
  thingyConfigApps,
  thingyNetworkState,
  thingyStatusState,
} from '../../../shared/protocol/compat';

const bytes = (...b: number[]) => Uint8Array.from(b);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
/** The message at `i`, which must be there. */
function at<T>(list: readonly T[], i: number): T {
  const item = list[i];
  if (item === undefined) throw new Error(`no item ${i}`);
  return item;
}

describe('ctrl.h constants', () => {
  it('are the values of its #defines', () => {
    expect(THINGYMCCONFIG_CTRL_SOCKET).toBe('/tmp/thingymcconfig.socket');
    // THINGYMCCONFIG_NULL .. THINGYMCCONFIG_GENERICEND
    expect([THINGY.NULL, THINGY.OK, THINGY.ERR, THINGY.PENDING, THINGY.ACTIVE, THINGY.GENERICEND]).toEqual([
      0, 1, 2, 3, 4, 31,
    ]);
    // THINGYMCCONFIG_MSGTYPE_CONFIG_APPS, _EVENT_NETWORKSTATEUPDATE, _EVENT_APPSTATEUPDATE
    expect([
      THINGY.MSGTYPE_CONFIG_APPS,
      THINGY.MSGTYPE_EVENT_NETWORKSTATEUPDATE,
      THINGY.MSGTYPE_EVENT_APPSTATEUPDATE,
    ]).toEqual([1, 2, 3]);
    // THINGMCCONFIG_FIELDTYPE_CONFIG_APPS_APP (sic), the NETWORKSTATEUPDATE and APPSTATEUPDATE fields
    expect(THINGY.FIELDTYPE_CONFIG_APPS_APP).toBe(1);
    expect([
      THINGY.FIELDTYPE_NETWORKSTATEUPDATE_SUPPLICANTSTATE,
      THINGY.FIELDTYPE_NETWORKSTATEUPDATE_DHCPSTATE,
    ]).toEqual([1, 2]);
    expect([
      THINGY.FIELDTYPE_APPSTATEUPDATE_APPINDEX,
      THINGY.FIELDTYPE_APPSTATEUPDATE_APPSTATE,
      THINGY.FIELDTYPE_APPSTATEUPDATE_CONNECTIVITY,
    ]).toEqual([1, 2, 3]);
    expect(THINGY.FIELDTYPE_TERMINATOR).toBe(255);
    // struct thingymcconfig_ctrl_msgheader and every field struct: four packed unsigned chars.
    expect([THINGY_HEADER_BYTES, THINGY_FIELD_BYTES]).toEqual([4, 4]);
  });
});

describe('messages as tbus_writemsg writes them', () => {
  it('CONFIG_APPS: one field per app (index from 1, name as its buffer), numfields counting the terminator', () => {
    expect(thingyConfigApps(['myapplication', 'ui'])).toEqual(
      bytes(
        ...[1, 3, 0, 0], // header: CONFIG_APPS, 2 fields + terminator, pad0, pad1
        ...[1, 13, 1, 0], // field: CONFIG_APPS_APP, buflen 13, index 1, pad0
        ...ascii('myapplication'),
        ...[1, 2, 2, 0],
        ...ascii('ui'),
        ...[255, 0, 0, 0], // thingymcconfig_terminator
      ),
    );
    expect(thingyConfigApps([])).toEqual(bytes(1, 1, 0, 0, 255, 0, 0, 0));
  });

  it('NETWORKSTATEUPDATE: the supplicant field first, then DHCP, state and error', () => {
    expect(thingyNetworkState(THINGY.ACTIVE, THINGY.NULL)).toEqual(
      bytes(2, 3, 0, 0, 1, 0, 4, 0, 2, 0, 0, 0, 255, 0, 0, 0),
    );
    expect(thingyNetworkState(THINGY.OK, THINGY.PENDING)).toEqual(
      bytes(2, 3, 0, 0, 1, 0, 1, 0, 2, 0, 3, 0, 255, 0, 0, 0),
    );
  });

  it('refuses what a byte cannot hold', () => {
    expect(() => encodeThingyMessage({ type: 256, fields: [] })).toThrow(RangeError);
    expect(() =>
      encodeThingyMessage({ type: 1, fields: [{ type: 1, v0: 0, v1: 0, buf: new Uint8Array(256) }] }),
    ).toThrow(RangeError);
  });
});

describe('messages as tbus_readmsg reads them', () => {
  // client_glib.c thingymcconfig_client_sendconnectivitystate(client, FALSE) for app index 2.
  const connectivityErr = bytes(3, 3, 0, 0, 1, 0, 2, 0, 3, 0, 2, 0, 255, 0, 0, 0);
  // thingymcconfig_client_sendappstate(client) for app index 1.
  const appOk = bytes(3, 3, 0, 0, 1, 0, 1, 0, 2, 0, 1, 0, 255, 0, 0, 0);

  it("reads the client library's two messages", () => {
    const r = new ThingyReader();
    const msgs = r.push(Uint8Array.from([...connectivityErr, ...appOk]));
    expect(thingyAppUpdate(at(msgs, 0))).toEqual({
      appIndex: 2,
      connectivity: { state: THINGY.ERR, error: 0 },
    });
    expect(thingyAppUpdate(at(msgs, 1))).toEqual({ appIndex: 1, appState: { state: THINGY.OK, error: 0 } });
    expect(r.pending).toBe(0);
  });

  it('reassembles a message split at every byte', () => {
    const r = new ThingyReader();
    const got = [...connectivityErr].flatMap((b) => r.push(bytes(b)));
    expect(got).toHaveLength(1);
    expect(thingyAppUpdate(at(got, 0))?.connectivity).toEqual({ state: THINGY.ERR, error: 0 });
  });

  it('stops at the terminator even before numfields, and takes numfields without one (as upstream logs and goes on)', () => {
    const r = new ThingyReader();
    const early = bytes(3, 9, 0, 0, 1, 0, 1, 0, 255, 0, 0, 0);
    const noTerminator = bytes(3, 1, 0, 0, 1, 0, 3, 0);
    const msgs = r.push(Uint8Array.from([...early, ...noTerminator]));
    expect(msgs.map((m) => thingyAppUpdate(m)?.appIndex)).toEqual([1, 3]);
  });

  it('a state of NULL is "not given"; other message types are not app updates', () => {
    const msg = at(
      new ThingyReader().push(bytes(3, 4, 0, 0, 1, 0, 1, 0, 2, 0, 0, 0, 3, 0, 1, 7, 255, 0, 0, 0)),
      0,
    );
    expect(thingyAppUpdate(msg)).toEqual({ appIndex: 1, connectivity: { state: THINGY.OK, error: 7 } });
    expect(thingyAppUpdate(at(new ThingyReader().push(thingyNetworkState(4, 0)), 0))).toBeUndefined();
  });

  it('round-trips a field with a buffer', () => {
    const [m] = new ThingyReader().push(thingyConfigApps(['a.b-c']));
    expect(m?.fields[0]).toEqual({ type: 1, v0: 1, v1: 0, buf: Uint8Array.from(ascii('a.b-c')) });
  });
});

describe('states both ways', () => {
  it('thingymcconfig → Airlift: OK and ACTIVE ok, ERR failed, PENDING starting, the rest unknown', () => {
    expect([0, 1, 2, 3, 4, 31, 200].map(appStateFromThingy)).toEqual([
      'unknown',
      'ok',
      'failed',
      'starting',
      'ok',
      'unknown',
      'unknown',
    ]);
  });

  it("Airlift → thingymcconfig, and /status's words: OK, ERROR with err, UNKNOWN", () => {
    expect((['ok', 'failed', 'degraded', 'starting', 'unknown'] as const).map(appStateToThingy)).toEqual([
      1, 2, 2, 3, 0,
    ]);
    expect(thingyStatusState('ok', 0)).toEqual({ state: 'OK', code: 1 });
    expect(thingyStatusState('failed', 7)).toEqual({ state: 'ERROR', code: 2, err: 7 });
    expect(thingyStatusState('unknown', 0)).toEqual({ state: 'UNKNOWN', code: 0 });
    expect(thingyStatusState('starting', 0)).toEqual({ state: 'SEECODE', code: 3 });
  });
});
