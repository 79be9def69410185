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

export function isVocabularyName(name: string): name is VocabularyName {
  return Object.prototype.hasOwnProperty.call(VOCABULARIES, name);
}

/** Looks a vocabulary up by name; an unknown name is an error that lists the known ones. */
export function getVocabulary(name: string): Vocabulary {
  if (!isVocabularyName(name)) {
    throw new SedsegError(
      'E_ARGUMENT',
      `unknown vocabulary "${name}" (known: ${VOCABULARY_NAMES.join(', ')})`,
    );
  }
  return VOCABULARIES[name];
}
