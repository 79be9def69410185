import { describe, expect, it } from 'vitest';
import { getVocabulary, VOCABULARIES, VOCABULARY_NAMES } from '../src/index.js';
import { readReferenceJson } from './helpers/reference.js';

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
  it.each(Object.entries(FILES))('%s equals the reference list', (name, file) => {
    expect(VOCABULARIES[name as keyof typeof VOCABULARIES].classes).toEqual(readReferenceJson('vocabularies', `${file}.json`));
  });

  it('has the expected sizes', () => {
    const sizes = Object.fromEntries(VOCABULARY_NAMES.map((n) => [n, VOCABULARIES[n].classes.length]));
    expect(sizes).toEqual({ ade150: 150, ade847: 847, pc59: 59, pc459: 459, voc20: 20, voc20b: 59, coco171: 171 });
  });

  it('refuses an unknown name and lists the known ones', () => {
    expect(() => getVocabulary('ade151')).toThrow(/unknown vocabulary "ade151" \(known: ade150, ade847/);
    expect(getVocabulary('voc20b').backgroundFrom).toBe(20);
  });
});
