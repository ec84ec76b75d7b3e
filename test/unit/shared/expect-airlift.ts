/** Assertions on AirliftError codes, shared by the shared/ unit tests. */
import { expect } from 'vitest';
import type { z } from 'zod';
import { AirliftError, type ErrorCode } from '../../../shared/errors';
import { parseOrThrow } from '../../../shared/validate';

/** Runs `fn`, expects an AirliftError with `code`, and returns it for further checks. */
export function expectAirliftError(fn: () => unknown, code: ErrorCode): AirliftError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(AirliftError);
  const err = thrown as AirliftError;
  expect(err.code, err.message).toBe(code);
  return err;
}

/** Parses with the schema the way the boundaries do and expects the error code. */
export function expectSchemaCode(schema: z.ZodType, value: unknown, code: ErrorCode): AirliftError {
  return expectAirliftError(() => parseOrThrow(schema, value, 'input'), code);
}
