/**
 * How a class name is shown to a person. The name itself (JSON, cache keys) stays exactly as
 * given — the ADE-150 vocabulary's `'bed '` keeps its trailing space, it is the reference's
 * name — but human-readable output shows each synonym trimmed (inner whitespace collapsed, empty
 * ones dropped) and joins synonyms with "|", the
 * way `--classes` takes them: `"person, people"` reads as `person|people`, not as two classes.
 */
import { splitSynonyms } from '@sedseg/core';

export function displayClassName(name: string): string {
  return splitSynonyms(name)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s !== '')
    .join('|');
}
