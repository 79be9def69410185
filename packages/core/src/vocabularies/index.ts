import { SedsegError } from '../errors.js';
import { ADE150 } from './ade150.js';
import { ADE847 } from './ade847.js';
import { COCO171 } from './coco171.js';
import { PC459 } from './pc459.js';
import { PC59 } from './pc59.js';
import { VOC20 } from './voc20.js';
import { VOC20B } from './voc20b.js';

export { ADE150, ADE847, COCO171, PC459, PC59, VOC20, VOC20B };

export type VocabularyName = 'ade150' | 'ade847' | 'pc59' | 'pc459' | 'voc20' | 'voc20b' | 'coco171';

export interface Vocabulary {
  readonly name: VocabularyName;
  readonly title: string;
  /** Class names in class-id order; names with `", "` are synonym lists. */
  readonly classes: readonly string[];
  /**
   * For vocabularies whose tail are background prompts (voc20b): class ids ≥ this value all
   * mean "background" when evaluating.
   */
  readonly backgroundFrom?: number;
}

/** The evaluation vocabularies of the SED paper (Table 1), as the reference implementation lists them. */
export const VOCABULARIES: Readonly<Record<VocabularyName, Vocabulary>> = Object.freeze({
  ade150: { name: 'ade150', title: 'ADE20K (A-150)', classes: ADE150 },
  ade847: { name: 'ade847', title: 'ADE20K-Full (A-847)', classes: ADE847 },
  pc59: { name: 'pc59', title: 'PASCAL Context (PC-59)', classes: PC59 },
  pc459: { name: 'pc459', title: 'PASCAL Context (PC-459)', classes: PC459 },
  voc20: { name: 'voc20', title: 'PASCAL VOC (PAS-20)', classes: VOC20 },
  voc20b: {
    name: 'voc20b',
    title: 'PASCAL VOC with background (PAS-20b)',
    classes: VOC20B,
    backgroundFrom: 20,
  },
  coco171: { name: 'coco171', title: 'COCO-Stuff (171 classes)', classes: COCO171 },
});

export const VOCABULARY_NAMES: readonly VocabularyName[] = Object.freeze(Object.keys(VOCABULARIES) as VocabularyName[]);

/** True for a canonical vocabulary name (exactly as listed in {@link VOCABULARY_NAMES}). */
export function isVocabularyName(name: string): name is VocabularyName {
  return Object.hasOwn(VOCABULARIES, name);
}

/**
 * A name as the alias table keys it: lower-cased (locale-independent), with spaces, dashes,
 * underscores, dots and slashes removed ("ADE-150" → "ade150", "Pascal Context 59" →
 * "pascalcontext59", "coco_stuff" → "cocostuff").
 */
export function vocabularyKey(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\-_./]+/g, '');
}

/**
 * Other spellings of the canonical names, as {@link vocabularyKey}s. The canonical names
 * themselves are always accepted. Ambiguous words are left out on purpose: "pascal" (VOC or
 * Context?), "context" alone, "voc21" (voc20b has 20 classes + 39 background prompts, not 21).
 */
const ALIASES: Readonly<Record<VocabularyName, readonly string[]>> = {
  // ADE20K, 150 classes (the paper's A-150)
  ade150: ['ade', 'ade20k', 'ade20k150', 'a150', 'ade20ksceneparsing'],
  // ADE20K-Full, 847 classes (A-847)
  ade847: ['a847', 'ade20k847', 'adefull', 'ade20kfull', 'ade20kfull847', 'adefull847'],
  // PASCAL Context, 59 classes (PC-59)
  pc59: ['pascalcontext59', 'pascalcontext', 'pcontext59', 'pcontext', 'context59', 'pascalctx59'],
  // PASCAL Context, 459 classes (PC-459)
  pc459: ['pascalcontext459', 'pcontext459', 'context459', 'pascalctx459'],
  // PASCAL VOC, 20 classes (PAS-20)
  voc20: ['voc', 'pascalvoc', 'pascalvoc20', 'pas20', 'voc2012', 'pascalvoc2012'],
  // PASCAL VOC, 20 classes + background prompts (PAS-20b)
  voc20b: ['pas20b', 'pascalvoc20b', 'vocb', 'pascalvocb', 'voc20background', 'pascalvoc20background'],
  // COCO-Stuff, 171 classes
  coco171: ['coco', 'cocostuff', 'cocostuff171', 'coco171stuff'],
};

/** Every accepted key (canonical names and aliases, as vocabulary keys) → canonical name. */
const BY_KEY: ReadonlyMap<string, VocabularyName> = (() => {
  const map = new Map<string, VocabularyName>();
  for (const name of VOCABULARY_NAMES) {
    for (const key of [name, ...ALIASES[name]]) {
      const k = vocabularyKey(key);
      const other = map.get(k);
      if (other !== undefined && other !== name) throw new Error(`vocabulary alias "${k}" names both ${other} and ${name}`);
      map.set(k, name);
    }
  }
  return map;
})();

/**
 * The canonical vocabulary name for `name` or one of its variants (case, spaces, dashes,
 * underscores: `ADE-150`, `ade_150`, `Pascal Context 59`; and aliases: `coco` → coco171,
 * `voc`/`pascal-voc` → voc20, `ade20k` → ade150, …); undefined if it names none.
 */
export function findVocabularyName(name: string): VocabularyName | undefined {
  if (typeof name !== 'string') return undefined;
  return BY_KEY.get(vocabularyKey(name));
}

/**
 * Like {@link findVocabularyName}, but an unknown name is a `SedsegError` (`E_ARGUMENT`) that
 * lists the canonical names and suggests the closest accepted spelling, e.g.
 * `unknown vocabulary "ade151" (known: ade150, ade847, …, coco171); did you mean "ade150"?`.
 */
export function resolveVocabularyName(name: string): VocabularyName {
  const found = findVocabularyName(name);
  if (found !== undefined) return found;
  const shown = typeof name === 'string' ? JSON.stringify(name) : String(name);
  const suggestion = typeof name === 'string' ? closestVocabulary(name) : undefined;
  throw new SedsegError(
    'E_ARGUMENT',
    `unknown vocabulary ${shown} (known: ${VOCABULARY_NAMES.join(', ')})${suggestion !== undefined ? `; did you mean "${suggestion}"?` : ''}`,
  );
}

/**
 * Looks a vocabulary up by its canonical name or a variant of it (see
 * {@link resolveVocabularyName}); an unknown name is an error that lists the known ones.
 */
export function getVocabulary(name: string): Vocabulary {
  return VOCABULARIES[resolveVocabularyName(name)];
}

/**
 * The canonical name whose canonical spelling or alias is nearest to `name` in edit distance
 * (on vocabulary keys), if it is near enough to be a plausible typo: at most 2 edits, or a third
 * of the longer key's length. Ties go to the canonical name listed first.
 */
function closestVocabulary(name: string): VocabularyName | undefined {
  const key = vocabularyKey(name);
  if (key === '') return undefined;
  let best: { name: VocabularyName; distance: number } | undefined;
  for (const [candidate, canonical] of BY_KEY) {
    const d = editDistance(key, candidate);
    const limit = Math.max(2, Math.floor(Math.max(key.length, candidate.length) / 3));
    if (d > limit) continue;
    if (best === undefined || d < best.distance || (d === best.distance && VOCABULARY_NAMES.indexOf(canonical) < VOCABULARY_NAMES.indexOf(best.name))) {
      best = { name: canonical, distance: d };
    }
  }
  return best?.name;
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment: insertions, deletions,
 * substitutions and swaps of two neighbours each cost 1; "pc495" is 1 from "pc459"), by UTF-16
 * code units.
 */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
