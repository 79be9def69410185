import { describe, expect, it } from 'vitest';
import {
  ADE150,
  findVocabularyName,
  getVocabulary,
  isVocabularyName,
  resolveVocabularyName,
  VOCABULARIES,
  VOCABULARY_NAMES,
  vocabularyKey,
} from '../src/index.js';
import { readReferenceJson } from './helpers/reference.js';

/** Canonical name → reference file (reference/vocabularies/<file>.json). */
const FILES: Record<string, string> = {
  ade150: 'ade150',
  ade847: 'ade847',
  pc59: 'pc59',
  pc459: 'pc459',
  voc20: 'voc20',
  voc20b: 'voc20b',
  coco171: 'coco',
};

describe('vocabularies', () => {
  it('covers every vocabulary with a reference file', () => {
    expect([...VOCABULARY_NAMES].sort()).toEqual(Object.keys(FILES).sort());
  });

  it.each(Object.entries(FILES))('%s equals the reference list exactly (order, spaces, case)', (name, file) => {
    const reference = readReferenceJson<string[]>('vocabularies', `${file}.json`);
    const ours = VOCABULARIES[name as keyof typeof VOCABULARIES].classes;
    expect(ours.length).toBe(reference.length);
    // string by string with ===, so that a trimmed or re-cased name shows by index
    const differences = reference.flatMap((ref, i) => (ours[i] === ref ? [] : [`${i}: ${JSON.stringify(ours[i])} ≠ ${JSON.stringify(ref)}`]));
    expect(differences).toEqual([]);
  });

  it('keeps the reference quirks (ADE-150 "bed " with its trailing space)', () => {
    const reference = readReferenceJson<string[]>('vocabularies', 'ade150.json');
    expect(reference[7]).toBe('bed ');
    expect(ADE150[7]).toBe('bed ');
  });

  it('has the expected sizes', () => {
    const sizes = Object.fromEntries(VOCABULARY_NAMES.map((n) => [n, VOCABULARIES[n].classes.length]));
    expect(sizes).toEqual({ ade150: 150, ade847: 847, pc59: 59, pc459: 459, voc20: 20, voc20b: 59, coco171: 171 });
  });

  it('refuses an unknown name, lists the known ones and suggests the closest', () => {
    expect(() => getVocabulary('ade151')).toThrow(
      /unknown vocabulary "ade151" \(known: ade150, ade847, pc59, pc459, voc20, voc20b, coco171\); did you mean "ade150"\?$/,
    );
    expect(() => getVocabulary('ADE_874')).toThrow(/did you mean "ade847"/);
    expect(() => getVocabulary('coco-stuf')).toThrow(/did you mean "coco171"/);
    expect(() => getVocabulary('pc495')).toThrow(/did you mean "pc459"/);
    expect(() => getVocabulary('vco20b')).toThrow(/did you mean "voc20b"/);
    expect(() => getVocabulary('cityscapes')).toThrow(/^unknown vocabulary "cityscapes" \(known: [a-z0-9, ]+\)$/); // nothing close: no guess
    expect(() => getVocabulary('')).toThrow(/unknown vocabulary "" \(known:/);
    expect(() => getVocabulary('pascal')).toThrow(/unknown vocabulary "pascal"/); // VOC or Context: ambiguous
    try {
      getVocabulary('ade151');
      expect.unreachable();
    } catch (e) {
      expect((e as { code?: string }).code).toBe('E_ARGUMENT');
      expect((e as Error).message).not.toContain('\n');
    }
    expect(getVocabulary('voc20b').backgroundFrom).toBe(20);
  });

  it('accepts case, dash, underscore and space variants and common aliases', () => {
    const cases: [string, string][] = [
      ['ade150', 'ade150'],
      ['ADE150', 'ade150'],
      ['ADE-150', 'ade150'],
      ['ade_150', 'ade150'],
      [' ade 150 ', 'ade150'],
      ['A-150', 'ade150'],
      ['ADE20K', 'ade150'],
      ['ade847', 'ade847'],
      ['A-847', 'ade847'],
      ['ADE20K-Full', 'ade847'],
      ['PC-59', 'pc59'],
      ['pascal-context-59', 'pc59'],
      ['Pascal Context', 'pc59'],
      ['pc_459', 'pc459'],
      ['pascal_context_459', 'pc459'],
      ['VOC', 'voc20'],
      ['pascal-voc', 'voc20'],
      ['PAS-20', 'voc20'],
      ['VOC-20b', 'voc20b'],
      ['PAS-20b', 'voc20b'],
      ['coco', 'coco171'],
      ['COCO-Stuff', 'coco171'],
      ['coco_stuff_171', 'coco171'],
      ['Coco171', 'coco171'],
    ];
    for (const [input, canonical] of cases) {
      expect([input, findVocabularyName(input)]).toEqual([input, canonical]);
      expect(resolveVocabularyName(input)).toBe(canonical);
      expect(getVocabulary(input)).toBe(VOCABULARIES[canonical as keyof typeof VOCABULARIES]);
    }
    expect(findVocabularyName('pascal')).toBeUndefined();
    expect(findVocabularyName('ade151')).toBeUndefined();
  });

  it('keeps isVocabularyName strict (canonical names only) and normalises keys', () => {
    expect(isVocabularyName('ade150')).toBe(true);
    expect(isVocabularyName('ADE-150')).toBe(false);
    expect(vocabularyKey(' Pascal-Context_59 ')).toBe('pascalcontext59');
    expect(vocabularyKey('COCO.Stuff/171')).toBe('cocostuff171');
  });
});
