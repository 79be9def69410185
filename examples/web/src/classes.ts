import { SYNONYM_SEPARATOR, validateClassNames } from '@sedseg/core';

/**
 * Parses a typed class list like the CLI's `--classes`: commas separate classes, `|` joins
 * synonyms of one class (`"car, road, person|people"` → `["car", "road", "person, people"]`, the
 * reference's synonym form). Empty and duplicated classes are refused with a readable message.
 */
export function parseClassList(text: string): string[] {
  if (text.trim() === '') throw new Error('the class list is empty: type some class names (e.g. "sky, road, person|people") or pick a vocabulary');
  const classes = text.split(',').map((part, i) => {
    const synonyms = part.split('|').map((s) => s.trim());
    if (synonyms.some((s) => s === '')) throw new Error(`class ${i + 1} is empty (classes are separated by commas, synonyms by "|")`);
    return synonyms.join(SYNONYM_SEPARATOR);
  });
  return validateClassNames(classes);
}

/** The typed form of a class list (inverse of {@link parseClassList}). */
export function formatClassList(classes: readonly string[]): string {
  return classes.map((c) => c.split(SYNONYM_SEPARATOR).join('|')).join(', ');
}

/** A JSON array of class names (reference format, `", "` joins synonyms). */
export function parseClassJson(text: string, source: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: the class file is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed) || !parsed.every((c) => typeof c === 'string')) throw new Error(`${source}: the class file must be a JSON array of strings`);
  return validateClassNames(parsed);
}
