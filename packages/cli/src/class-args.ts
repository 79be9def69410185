import { SYNONYM_SEPARATOR, validateClassNames } from '@sedseg/core';
import { UsageError } from './usage-error.js';

/**
 * Parses `--classes`: commas separate classes, `|` joins synonyms of one class
 * (`"car, road, person|people"` → `["car", "road", "person, people"]`, the reference's synonym
 * form). Empty and duplicated classes are refused.
 */
export function parseClassesOption(text: string, command: string): string[] {
  const classes = text.split(',').map((part, i) => {
    const synonyms = part.split('|').map((s) => s.trim());
    if (synonyms.some((s) => s === '')) {
      throw new UsageError(`--classes: class ${i + 1} is empty (classes are separated by commas, synonyms by "|")`, command);
    }
    return synonyms.join(SYNONYM_SEPARATOR);
  });
  try {
    return validateClassNames(classes);
  } catch (e) {
    throw new UsageError(`--classes: ${(e as Error).message}`, command);
  }
}
