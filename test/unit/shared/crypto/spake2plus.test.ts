import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import {
  computeConfirmation,
  computeKeySchedule,
  computeL,
  computeShareP,
  computeShareV,
  computeTranscript,
  createProver,
  createVerifier,
  proverSecretPoints,
  verifierSecretPoints,
} from '../../../../shared/crypto/spake2plus';
import { fromHex, toHex, utf8Encode } from '../../../../shared/encoding';
import { AirliftError, type ErrorCode } from '../../../../shared/errors';

/**
 * RFC 9383 Appendix C, first vector: P256-SHA256-HKDF-HMAC (SPAKE2+-P256-SHA256-HKDF-SHA256-HMAC-SHA256).
 * Transcribed from the RFC text; hex split only for line length.
 */
const RFC = {
  context: 'SPAKE2+-P256-SHA256-HKDF-SHA256-HMAC-SHA256 Test Vectors',
  idProver: 'client',
  idVerifier: 'server',
  w0: 'bb8e1bbcf3c48f62c08db243652ae55d3e5586053fca77102994f23ad95491b3',
  w1: '7e945f34d78785b8a3ef44d0df5a1a97d6b3b460409a345ca7830387a74b1dba',
  L: [
    '04eb7c9db3d9a9eb1f8adab81b5794c1f13ae3e225efbe91ea487425854c7fc00f00bfedcbd09b24',
    '00142d40a14f2064ef31dfaa903b91d1faea7093d835966efd',
  ].join(''),
  x: 'd1232c8e8693d02368976c174e2088851b8365d0d79a9eee709c6a05a2fad539',
  shareP: [
    '04ef3bd051bf78a2234ec0df197f7828060fe9856503579bb1733009042c15c0c1de127727f418b5',
    '966afadfdd95a6e4591d171056b333dab97a79c7193e341727',
  ].join(''),
  y: '717a72348a182085109c8d3917d6c43d59b224dc6a7fc4f0483232fa6516d8b3',
  shareV: [
    '04c0f65da0d11927bdf5d560c69e1d7d939a05b0e88291887d679fcadea75810fb5cc1ca7494db39',
    'e82ff2f50665255d76173e09986ab46742c798a9a68437b048',
  ].join(''),
  Z: [
    '04bbfce7dd7f277819c8da21544afb7964705569bdf12fb92aa388059408d50091a0c5f1d3127f56',
    '813b5337f9e4e67e2ca633117a4fbd559946ab474356c41839',
  ].join(''),
  V: [
    '0458bf27c6bca011c9ce1930e8984a797a3419797b936629a5a937cf2f11c8b9514b82b993da8a46',
    'e664f23db7c01edc87faa530db01c2ee405230b18997f16b68',
  ].join(''),
  TT: [
    '38000000000000005350414b45322b2d503235362d5348413235362d484b44462d5348413235362d',
    '484d41432d534841323536205465737420566563746f72730600000000000000636c69656e740600',
    '000000000000736572766572410000000000000004886e2f97ace46e55ba9dd7242579f2993b64e1',
    '6ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d',
    '55a12e2d20410000000000000004d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f',
    '98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe74100',
    '00000000000004ef3bd051bf78a2234ec0df197f7828060fe9856503579bb1733009042c15c0c1de',
    '127727f418b5966afadfdd95a6e4591d171056b333dab97a79c7193e341727410000000000000004',
    'c0f65da0d11927bdf5d560c69e1d7d939a05b0e88291887d679fcadea75810fb5cc1ca7494db39e8',
    '2ff2f50665255d76173e09986ab46742c798a9a68437b048410000000000000004bbfce7dd7f2778',
    '19c8da21544afb7964705569bdf12fb92aa388059408d50091a0c5f1d3127f56813b5337f9e4e67e',
    '2ca633117a4fbd559946ab474356c4183941000000000000000458bf27c6bca011c9ce1930e8984a',
    '797a3419797b936629a5a937cf2f11c8b9514b82b993da8a46e664f23db7c01edc87faa530db01c2',
    'ee405230b18997f16b682000000000000000bb8e1bbcf3c48f62c08db243652ae55d3e5586053fca',
    '77102994f23ad95491b3',
  ].join(''),
  kMain: '4c59e1ccf2cfb961aa31bd9434478a1089b56cd11542f53d3576fb6c2a438a29',
  kConfirmP: '871ae3f7b78445e34438fb284504240239031c39d80ac23eb5ab9be5ad6db58a',
  kConfirmV: 'ccd53c7c1fa37b64a462b40db8be101cedcf838950162902054e644b400f1680',
  confirmP: '926cc713504b9b4d76c9162ded04b5493e89109f6d89462cd33adc46fda27527',
  confirmV: '9747bcc4f8fe9f63defee53ac9b07876d907d55047e6ff2def2e7529089d3e68',
  kShared: '0c5f8ccd1413423a54f6c1fb26ff01534a87f893779c6e68666d772bfd91f3e7',
};

const b = (hex: string): Uint8Array => fromHex(hex);
const ids = {
  context: utf8Encode(RFC.context),
  idProver: utf8Encode(RFC.idProver),
  idVerifier: utf8Encode(RFC.idVerifier),
};

function codeOf(fn: () => unknown): ErrorCode | 'no error' | 'not an AirliftError' {
  try {
    fn();
  } catch (err) {
    return err instanceof AirliftError ? err.code : 'not an AirliftError';
  }
  return 'no error';
}

describe('RFC 9383 Appendix C (P256-SHA256-HKDF-HMAC)', () => {
  it('L = w1*P', () => {
    expect(toHex(computeL(b(RFC.w1)))).toBe(RFC.L);
  });

  it('shareP = x*P + w0*M and shareV = y*P + w0*N', () => {
    expect(toHex(computeShareP(b(RFC.w0), b(RFC.x)))).toBe(RFC.shareP);
    expect(toHex(computeShareV(b(RFC.w0), b(RFC.y)))).toBe(RFC.shareV);
  });

  it('both sides compute the same Z and V', () => {
    const prover = proverSecretPoints(b(RFC.w0), b(RFC.w1), b(RFC.x), b(RFC.shareV));
    const verifier = verifierSecretPoints(b(RFC.w0), b(RFC.L), b(RFC.y), b(RFC.shareP));
    expect(toHex(prover.Z)).toBe(RFC.Z);
    expect(toHex(prover.V)).toBe(RFC.V);
    expect(toHex(verifier.Z)).toBe(RFC.Z);
    expect(toHex(verifier.V)).toBe(RFC.V);
  });

  it('TT, K_main, K_confirmP, K_confirmV, K_shared, confirmP, confirmV', () => {
    const tt = computeTranscript({
      ...ids,
      shareP: b(RFC.shareP),
      shareV: b(RFC.shareV),
      Z: b(RFC.Z),
      V: b(RFC.V),
      w0: b(RFC.w0),
    });
    expect(toHex(tt)).toBe(RFC.TT);
    const keys = computeKeySchedule(tt);
    expect(toHex(keys.kMain)).toBe(RFC.kMain);
    expect(toHex(keys.kConfirmP)).toBe(RFC.kConfirmP);
    expect(toHex(keys.kConfirmV)).toBe(RFC.kConfirmV);
    expect(toHex(keys.kShared)).toBe(RFC.kShared);
    expect(toHex(computeConfirmation(keys.kConfirmP, b(RFC.shareV)))).toBe(RFC.confirmP);
    expect(toHex(computeConfirmation(keys.kConfirmV, b(RFC.shareP)))).toBe(RFC.confirmV);
  });

  it('the prover and verifier objects reproduce every message of the vector', () => {
    const prover = createProver({ ...ids, w0: b(RFC.w0), w1: b(RFC.w1), x: b(RFC.x) });
    const verifier = createVerifier({ ...ids, w0: b(RFC.w0), L: b(RFC.L), y: b(RFC.y) });
    expect(toHex(prover.shareP)).toBe(RFC.shareP);
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(toHex(shareV)).toBe(RFC.shareV);
    expect(toHex(confirmV)).toBe(RFC.confirmV);
    const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
    expect(toHex(confirmP)).toBe(RFC.confirmP);
    expect(toHex(sharedKey)).toBe(RFC.kShared);
    expect(toHex(verifier.finish(confirmP))).toBe(RFC.kShared);
  });

  it("M and N are the RFC's P-256 points, carried uncompressed in TT", () => {
    const tt = b(RFC.TT);
    // TT = len(ctx)||ctx||len(idP)||idP||len(idV)||idV||len(M)||M||len(N)||N||...
    const mAt = 8 + RFC.context.length + 8 + 6 + 8 + 6 + 8;
    const M = tt.subarray(mAt, mAt + 65);
    const N = tt.subarray(mAt + 65 + 8, mAt + 65 + 8 + 65);
    expect(p256.Point.fromBytes(M).toHex(true)).toBe(
      '02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f',
    );
    expect(p256.Point.fromBytes(N).toHex(true)).toBe(
      '03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49',
    );
  });
});

describe('SPAKE2+ roles', () => {
  const w0 = b(RFC.w0);
  const w1 = b(RFC.w1);
  const L = b(RFC.L);

  it('random ephemerals: both sides agree on K_shared, and it differs per run', () => {
    const run = () => {
      const prover = createProver({ ...ids, w0, w1 });
      const verifier = createVerifier({ ...ids, w0, L });
      const { shareV, confirmV } = verifier.respond(prover.shareP);
      const { confirmP, sharedKey } = prover.finish(shareV, confirmV);
      expect(toHex(verifier.finish(confirmP))).toBe(toHex(sharedKey));
      return toHex(sharedKey);
    };
    expect(run()).not.toBe(run());
  });

  it('wrong password: the prover refuses confirmV with AUTH_FAILED', () => {
    const wrong = fromHex('11'.repeat(32));
    const prover = createProver({ ...ids, w0: wrong, w1 });
    const verifier = createVerifier({ ...ids, w0, L });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(codeOf(() => prover.finish(shareV, confirmV))).toBe('AUTH_FAILED');
  });

  it('wrong w1 (right w0): the verifier refuses confirmP with AUTH_FAILED', () => {
    // A prover that knows only w0 (e.g. a stolen record) cannot produce V: RFC 9383's augmentation.
    const prover = createProver({ ...ids, w0, w1: fromHex('22'.repeat(32)), x: b(RFC.x) });
    const verifier = createVerifier({ ...ids, w0, L, y: b(RFC.y) });
    const { shareV } = verifier.respond(prover.shareP);
    const forged = new Uint8Array(32);
    expect(codeOf(() => verifier.finish(forged))).toBe('AUTH_FAILED');
    expect(codeOf(() => prover.finish(shareV, new Uint8Array(32)))).toBe('AUTH_FAILED');
  });

  it('different context or identities on each side → AUTH_FAILED', () => {
    for (const other of [
      { ...ids, context: utf8Encode('other context') },
      { ...ids, idProver: utf8Encode('mallory') },
      { ...ids, idVerifier: utf8Encode('elsewhere') },
    ]) {
      const prover = createProver({ ...other, w0, w1 });
      const verifier = createVerifier({ ...ids, w0, L });
      const { shareV, confirmV } = verifier.respond(prover.shareP);
      expect(codeOf(() => prover.finish(shareV, confirmV))).toBe('AUTH_FAILED');
    }
  });

  it('a tampered confirmV or confirmP is refused', () => {
    const prover = createProver({ ...ids, w0, w1 });
    const verifier = createVerifier({ ...ids, w0, L });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    const bad = Uint8Array.from(confirmV);
    bad[31] = (bad[31] ?? 0) ^ 1;
    expect(codeOf(() => prover.finish(shareV, bad))).toBe('AUTH_FAILED');
    expect(codeOf(() => prover.finish(shareV, confirmV))).toBe('PROTOCOL_ERROR'); // single use
    expect(codeOf(() => verifier.finish(confirmV.subarray(0, 16)))).toBe('AUTH_FAILED');
  });

  describe('invalid shares are refused with AUTH_FAILED', () => {
    const G = p256.Point.BASE;
    const valid = G.multiply(7n).toBytes(false);
    const offCurve = Uint8Array.from(valid);
    offCurve[64] = (offCurve[64] ?? 0) ^ 1;
    const xTooBig = Uint8Array.from(valid);
    xTooBig.fill(0xff, 1, 33); // x >= field prime
    const cases: [string, Uint8Array][] = [
      ['compressed', G.multiply(7n).toBytes(true)],
      ['hybrid prefix 0x06', Uint8Array.from([0x06, ...valid.subarray(1)])],
      ['off the curve', offCurve],
      ['coordinate out of range', xTooBig],
      ['all zero (identity-like)', new Uint8Array(65)],
      ['0x04 then zeros', Uint8Array.from([0x04, ...new Uint8Array(64)])],
      ['SEC1 identity (0x00)', new Uint8Array([0])],
      ['empty', new Uint8Array(0)],
      ['too long', Uint8Array.from([...valid, 0])],
    ];
    for (const [name, share] of cases) {
      it(`shareP ${name}`, () => {
        const verifier = createVerifier({ ...ids, w0, L });
        expect(codeOf(() => verifier.respond(share))).toBe('AUTH_FAILED');
        // The verifier is spent after a refused share.
        expect(codeOf(() => verifier.respond(valid))).toBe('PROTOCOL_ERROR');
      });
      it(`shareV ${name}`, () => {
        const prover = createProver({ ...ids, w0, w1 });
        expect(codeOf(() => prover.finish(share, new Uint8Array(32)))).toBe('AUTH_FAILED');
      });
    }

    it('shares that cancel the w0 mask (Z and V would be the identity)', () => {
      const w0n = BigInt('0x' + RFC.w0);
      const M = p256.Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
      const N = p256.Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49');
      const verifier = createVerifier({ ...ids, w0, L });
      expect(codeOf(() => verifier.respond(M.multiply(w0n).toBytes(false)))).toBe('AUTH_FAILED');
      const prover = createProver({ ...ids, w0, w1 });
      expect(codeOf(() => prover.finish(N.multiply(w0n).toBytes(false), new Uint8Array(32)))).toBe(
        'AUTH_FAILED',
      );
    });
  });

  it('state objects refuse reuse', () => {
    const prover = createProver({ ...ids, w0, w1 });
    const verifier = createVerifier({ ...ids, w0, L });
    expect(codeOf(() => verifier.finish(new Uint8Array(32)))).toBe('PROTOCOL_ERROR'); // before respond
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(codeOf(() => verifier.respond(prover.shareP))).toBe('PROTOCOL_ERROR');
    const { confirmP } = prover.finish(shareV, confirmV);
    expect(codeOf(() => prover.finish(shareV, confirmV))).toBe('PROTOCOL_ERROR');
    verifier.finish(confirmP);
    expect(codeOf(() => verifier.finish(confirmP))).toBe('PROTOCOL_ERROR');
  });

  it('a failed confirmP spends the verifier: no second guess', () => {
    const prover = createProver({ ...ids, w0, w1 });
    const verifier = createVerifier({ ...ids, w0, L });
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    const { confirmP } = prover.finish(shareV, confirmV);
    expect(codeOf(() => verifier.finish(new Uint8Array(32)))).toBe('AUTH_FAILED');
    expect(codeOf(() => verifier.finish(confirmP))).toBe('PROTOCOL_ERROR');
  });

  it('refuses scalars that are not in [1, p-1] and a bad record L', () => {
    const n = p256.Point.Fn.ORDER.toString(16).padStart(64, '0');
    expect(codeOf(() => createProver({ ...ids, w0: new Uint8Array(32), w1 }))).toBe('BAD_REQUEST');
    expect(codeOf(() => createProver({ ...ids, w0: fromHex(n), w1 }))).toBe('BAD_REQUEST');
    expect(codeOf(() => createProver({ ...ids, w0: w0.subarray(1), w1 }))).toBe('BAD_REQUEST');
    expect(codeOf(() => createVerifier({ ...ids, w0, L: L.subarray(0, 33) }))).toBe('BAD_REQUEST');
  });

  it('does not keep references to the caller’s buffers', () => {
    const myW0 = Uint8Array.from(w0);
    const prover = createProver({ ...ids, w0: myW0, w1 });
    const verifier = createVerifier({ ...ids, w0, L });
    myW0.fill(0);
    const { shareV, confirmV } = verifier.respond(prover.shareP);
    expect(() => prover.finish(shareV, confirmV)).not.toThrow();
  });
});
