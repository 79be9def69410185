import { describe, expect, it } from 'vitest';
import { classPrompts, combineClassEmbeddings, fillTemplate, IMAGENET_TEMPLATES, splitSynonyms } from '../src/index.js';
import { readReferenceJson } from './helpers/reference.js';

describe('prompt templates', () => {
  it('are the 80 ImageNet templates of the reference, in order', () => {
    const cfg = readReferenceJson<{ prompt_templates: { templates: string[]; count: number } }>('tiny', 'config.json');
    expect(IMAGENET_TEMPLATES).toEqual(cfg.prompt_templates.templates);
    expect(IMAGENET_TEMPLATES).toHaveLength(80);
  });

  it('fill like Python str.format with one field', () => {
    expect(fillTemplate('a photo of a {}.', 'café table')).toBe('a photo of a café table.');
    expect(fillTemplate('{{literal}} {}', 'x')).toBe('{literal} x');
    expect(() => fillTemplate('no field', 'x')).toThrow(/exactly one "\{\}"/);
    expect(() => fillTemplate('{} and {}', 'x')).toThrow(/has 2/);
    expect(() => fillTemplate('{name}', 'x')).toThrow(/only "\{\}" fields/);
  });
});

describe('class prompts', () => {
  it('splits synonyms only on ", "', () => {
    expect(splitSynonyms('person, people')).toEqual(['person', 'people']);
    expect(splitSynonyms('a,b')).toEqual(['a,b']);
    expect(splitSynonyms('tree')).toEqual(['tree']);
  });

  it('builds texts template-major over synonyms', () => {
    const p = classPrompts('person, people', ['a {}.', 'the {}!']);
    expect(p.texts).toEqual(['a person.', 'a people.', 'the person!', 'the people!']);
    expect(p.synonyms).toEqual(['person', 'people']);
    const single = classPrompts('dog');
    expect(single.texts).toHaveLength(80);
    expect(single.texts[0]).toBe('a bad photo of a dog.');
  });

  it('normalises, averages synonyms per template and re-normalises', () => {
    // P=2 templates, S=2 synonyms, D=2
    const e = new Float32Array([3, 4, 0, 2, /* p1 */ 1, 0, 0, 5]);
    const out = combineClassEmbeddings(e, 2, 2, 2);
    // p0: (0.6,0.8)+(0,1) -> (0.3,0.9) normalised
    const n0 = Math.hypot(0.3, 0.9);
    expect(out[0]).toBeCloseTo(0.3 / n0, 6);
    expect(out[1]).toBeCloseTo(0.9 / n0, 6);
    // p1: (1,0)+(0,1) -> normalised (0.7071, 0.7071)
    expect(out[2]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(out[3]).toBeCloseTo(Math.SQRT1_2, 6);
    const single = combineClassEmbeddings(new Float32Array([3, 4]), 1, 1, 2);
    expect(Array.from(single)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(() => combineClassEmbeddings(new Float32Array(3), 1, 1, 2)).toThrow(/expected 1×1×2/);
  });
});
