import { parseClassList } from '@sedseg/core';
import { UsageError } from './usage-error.js';

/**
 * Parses `--classes`: commas separate classes, `|` joins synonyms of one class
 * (`"car, road, person|people"` → `["car", "road", "person, people"]`, the reference's synonym
 * form). Empty and duplicated classes are refused.
 */
export function parseClassesOption(text: string, command: string): string[] {
  try {
    return parseClassList(text);
  } catch (e) {
    throw new UsageError(`--classes: ${(e as Error).message}`, command);
  }
}
