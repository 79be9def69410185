import { UsageError } from './usage-error.js';

/** Parses an option value that must be a positive integer (usage error naming the option). */
export function positiveInt(value: string, option: string, command: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${option} must be a positive integer, got "${value}"`, command);
  }
  return n;
}

/** `positiveInt` for an optional option. */
export function optionalPositiveInt(value: string | undefined, option: string, command: string): number | undefined {
  return value === undefined ? undefined : positiveInt(value, option, command);
}
