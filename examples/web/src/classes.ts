import { formatClassList, parseClassList as parseTypedClassList, validateClassNames } from '@sedseg/core';

/**
 * Parses the class field with core's rule (`,` separates classes, `|` joins synonyms); an empty
 * field gets a message that says what to type.
 */
export function parseClassList(text: string): string[] {
  if (text.trim() === '') throw new Error('the class list is empty: type some class names (e.g. "sky, road, person|people") or pick a vocabulary');
  return parseTypedClassList(text);
}

export { formatClassList };

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
