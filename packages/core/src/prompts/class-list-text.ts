/**
 * A typed class list: commas separate classes, `|` joins synonyms of one class
 * (`"car, road, person|people"` → `["car", "road", "person, people"]`, the reference's synonym
 * form). One rule for the CLI's `--classes` and the web page's class field.
 */
import { SedsegError } from '../errors.js';
import { validateClassNames } from '../model/sed-model.js';
import { SYNONYM_SEPARATOR } from './class-prompts.js';

/** Parses a typed class list; empty or duplicated classes are refused (`E_ARGUMENT`, one line). */
export function parseClassList(text: string): string[] {
  const classes = text.split(',').map((part, i) => {
    const synonyms = part.split('|').map((s) => s.trim());
    if (synonyms.some((s) => s === '')) throw new SedsegError('E_ARGUMENT', `class ${i + 1} is empty (classes are separated by commas, synonyms by "|")`);
    return synonyms.join(SYNONYM_SEPARATOR);
  });
  return validateClassNames(classes);
}

/** The typed form of a class list (the inverse of `parseClassList`). */
export function formatClassList(classes: readonly string[]): string {
  return classes.map((c) => c.split(SYNONYM_SEPARATOR).join('|')).join(', ');
}
