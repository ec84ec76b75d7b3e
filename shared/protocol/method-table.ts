/**
 * The shape every method-based protocol here shares (the encrypted RPC, the control socket): two maps
 * of zod schemas keyed by method name, one for params and one for results, and on the serving side a
 * table with one handler per method. Types come from the schemas, so a method added to the maps
 * without a handler, or a handler returning the wrong shape, fails typecheck.
 */
import type { z } from 'zod';
import { AirliftError } from '../errors';
import { parseOrThrow } from '../validate';

/** Schemas keyed by method name. */
export type SchemaMap<M extends string = string> = { readonly [K in M]: z.ZodType };

/** What a caller sends for `M` (before the schema's defaults and transforms). */
export type ParamsIn<P extends SchemaMap, M extends keyof P> = z.input<P[M]>;
/** What a handler of `M` receives: the params as the schema outputs them. */
export type ParamsOut<P extends SchemaMap, M extends keyof P> = z.output<P[M]>;
/** What `M` answers. Result schemas describe the wire and carry no transforms: what a handler returns is what a caller reads. */
export type ResultOf<R extends SchemaMap, M extends keyof R> = z.output<R[M]>;

/**
 * The serving side: one handler per method, given its checked params and a per-request context
 * (the session, the connection).
 */
export type MethodTable<P extends SchemaMap, R extends SchemaMap<Extract<keyof P, string>>, Ctx = void> = {
  readonly [M in Extract<keyof P, string>]: (params: ParamsOut<P, M>, ctx: Ctx) => Promise<ResultOf<R, M>>;
};

/**
 * A caller's argument list for `M`: the params may be left out when none of them is required
 * (methods without params, or with only optional ones); they are then checked as `{}`.
 */
export type ParamsArgs<P extends SchemaMap, M extends keyof P> =
  Record<string, never> extends ParamsIn<P, M> ? [params?: ParamsIn<P, M>] : [params: ParamsIn<P, M>];

/** Whether `method` names one of `schemas`' methods (own keys only: `toString` is no method). */
export function isMethodOf<P extends SchemaMap>(
  schemas: P,
  method: string,
): method is Extract<keyof P, string> {
  return Object.hasOwn(schemas, method);
}

/**
 * `raw` checked by the params schema of `method`; absent params are `{}`. Failures are AirliftErrors
 * with the stable code (BAD_REQUEST, INVALID_SSID, ...).
 */
export function parseParams<P extends SchemaMap, M extends Extract<keyof P, string>>(
  schemas: P,
  method: M,
  raw: unknown,
): ParamsOut<P, M> {
  // Own keys only (see isMethodOf): the schema is there.
  const schema = schemas[method] as P[M];
  return parseOrThrow(schema, raw ?? {}, `${method} params`);
}

/** Run the handler of `method` with params already checked by `parseParams`. */
export function runMethod<
  P extends SchemaMap,
  R extends SchemaMap<Extract<keyof P, string>>,
  Ctx,
  M extends Extract<keyof P, string>,
>(table: MethodTable<P, R, Ctx>, method: M, params: ParamsOut<P, M>, ctx: Ctx): Promise<ResultOf<R, M>> {
  const handler: (params: ParamsOut<P, M>, ctx: Ctx) => Promise<ResultOf<R, M>> = table[method];
  return handler(params, ctx);
}

/**
 * A dispatcher over a table: unknown methods are UNKNOWN_METHOD, params are checked by their schema,
 * then the handler runs. For a protocol that answers every failure the same way (the encrypted RPC);
 * one that tells invalid params apart (JSON-RPC's -32602) calls `isMethodOf`, `parseParams` and
 * `runMethod` itself.
 */
export function dispatcher<P extends SchemaMap, R extends SchemaMap<Extract<keyof P, string>>, Ctx>(
  schemas: P,
  table: MethodTable<P, R, Ctx>,
): (method: string, raw: unknown, ctx: Ctx) => Promise<unknown> {
  return async (method, raw, ctx) => {
    if (!isMethodOf(schemas, method))
      throw new AirliftError('UNKNOWN_METHOD', `Unknown method ${JSON.stringify(method.slice(0, 64))}`);
    return runMethod(table, method, parseParams(schemas, method, raw), ctx);
  };
}
