/** An error as it crosses to a front end: its stable code and message, nothing else (no stack). */
import { toAirliftError } from '../../shared/errors';
import type { StationError } from '../../shared/station-api';

export function stationErrorOf(err: unknown): StationError {
  const e = toAirliftError(err);
  return { code: e.code, message: e.message.slice(0, 4096) };
}
