/** The shared shape of method-based protocols (shared/protocol/method-table.ts), on a toy protocol. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { AirliftError } from '../../../shared/errors';
import {
  dispatcher,
  isMethodOf,
  parseParams,
  type MethodTable,
  type ParamsArgs,
} from '../../../shared/protocol/method-table';

const params = {
  'echo.say': z.object({ text: z.string(), times: z.number().int().default(1) }).strict(),
  'echo.count': z.object({ upTo: z.number().int().optional() }).strict(),
  'echo.none': z.object({}).strict(),
};
const results = {
  'echo.say': z.object({ said: z.string() }),
  'echo.count': z.object({ n: z.number() }),
  'echo.none': z.object({ ok: z.literal(true) }),
};
type Toy = typeof params;

const table: MethodTable<Toy, typeof results, { who: string }> = {
  'echo.say': (p, ctx) => Promise.resolve({ said: `${ctx.who}: ${p.text.repeat(p.times)}` }),
  'echo.count': (p) => Promise.resolve({ n: p.upTo ?? 3 }),
  'echo.none': () => Promise.resolve({ ok: true }),
};

describe('method tables', () => {
  it('types params by method: required ones must be given, optional-only ones may be left out', () => {
    expectTypeOf<ParamsArgs<Toy, 'echo.say'>>().toEqualTypeOf<[params: { text: string; times?: number }]>();
    expectTypeOf<ParamsArgs<Toy, 'echo.count'>>().toEqualTypeOf<[params?: { upTo?: number }]>();
    expectTypeOf<ParamsArgs<Toy, 'echo.none'>>().items.not.toBeNever();
    const none: ParamsArgs<Toy, 'echo.none'> = [];
    expect(none).toEqual([]);
  });

  it('knows its own methods only', () => {
    expect(isMethodOf(params, 'echo.say')).toBe(true);
    for (const m of ['echo', 'toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(isMethodOf(params, m)).toBe(false);
    }
  });

  it('checks params with the method schema, absent ones as {}', () => {
    expect(parseParams(params, 'echo.say', { text: 'hi' })).toEqual({ text: 'hi', times: 1 });
    expect(parseParams(params, 'echo.none', undefined)).toEqual({});
    expect(parseParams(params, 'echo.none', null)).toEqual({});
    expect(() => parseParams(params, 'echo.none', { x: 1 })).toThrow(/echo\.none params/);
  });

  it('dispatches: unknown methods UNKNOWN_METHOD, bad params BAD_REQUEST, else the handler with its context', async () => {
    const dispatch = dispatcher(params, table);
    await expect(dispatch('echo.say', { text: 'ab', times: 2 }, { who: 'me' })).resolves.toEqual({
      said: 'me: abab',
    });
    const counted = await dispatch('echo.count', undefined, { who: 'me' });
    expect(results['echo.count'].parse(counted)).toEqual({ n: 3 });
    const codeOf = (p: Promise<unknown>) => p.catch((e: unknown) => (e as AirliftError).code);
    expect(await codeOf(dispatch('echo.shout', {}, { who: 'me' }))).toBe('UNKNOWN_METHOD');
    expect(await codeOf(dispatch('echo.say', { text: 1 }, { who: 'me' }))).toBe('BAD_REQUEST');
  });
});
