/**
 * The class-embedding grouping rule of SED (DESIGN.md §3.4), as pure functions: which texts are
 * encoded for a class name, and how their embeddings are combined into one P×D class embedding.
 */
import { SedsegError } from '../errors.js';
import { IMAGENET_TEMPLATES } from './imagenet-templates.js';

/** Separator that turns a class name into a synonym list ("person, people"). */
export const SYNONYM_SEPARATOR = ', ';

/** Splits a class name into its synonyms, exactly as Python's `name.split(', ')` (only when `', '` occurs). */
export function splitSynonyms(className: string): string[] {
  return className.includes(SYNONYM_SEPARATOR) ? className.split(SYNONYM_SEPARATOR) : [className];
}

/**
 * Fills a template like Python's `template.format(name)`: exactly one `{}` field, `{{` and `}}`
 * stand for literal braces; anything else is refused rather than silently mis-filled.
 */
export function fillTemplate(template: string, name: string): string {
  let out = '';
  let fields = 0;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    const next = template[i + 1];
    if (c === '{' && next === '}') {
      out += name;
      fields++;
      i++;
    } else if ((c === '{' && next === '{') || (c === '}' && next === '}')) {
      out += c;
      i++;
    } else if (c === '{' || c === '}') {
      throw new SedsegError('E_ARGUMENT', `prompt template "${template}": only "{}" fields are supported`);
    } else {
      out += c;
    }
  }
  if (fields !== 1) {
    throw new SedsegError('E_ARGUMENT', `prompt template "${template}" must contain exactly one "{}" (has ${fields})`);
  }
  return out;
}

export interface ClassPrompts {
  readonly className: string;
  readonly synonyms: readonly string[];
  /** Texts to encode, template-major: texts[p * synonyms.length + s] = template p with synonym s. */
  readonly texts: readonly string[];
  readonly templateCount: number;
}

/** The texts the text encoder sees for one class (template-major over synonyms). */
export function classPrompts(className: string, templates: readonly string[] = IMAGENET_TEMPLATES): ClassPrompts {
  if (templates.length === 0) throw new SedsegError('E_ARGUMENT', 'no prompt templates given');
  const synonyms = splitSynonyms(className);
  const texts: string[] = [];
  for (const template of templates) for (const synonym of synonyms) texts.push(fillTemplate(template, synonym));
  return { className, synonyms, texts, templateCount: templates.length };
}

function normalizeRowsInPlace(data: Float32Array, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) ss += data[i]! * data[i]!;
    const inv = 1 / Math.sqrt(ss);
    for (let i = r * dim; i < (r + 1) * dim; i++) data[i] = data[i]! * inv;
  }
}

/**
 * Combines the text embeddings of one class into its P×D class embedding: every text embedding
 * is L2-normalised; with S > 1 synonyms the S embeddings of each template are averaged and the
 * mean re-normalised. `embeddings` is (P·S)×D in the order of `classPrompts(...).texts`.
 */
export function combineClassEmbeddings(embeddings: Float32Array, templateCount: number, synonymCount: number, dim: number): Float32Array {
  const rows = templateCount * synonymCount;
  if (embeddings.length !== rows * dim) {
    throw new SedsegError('E_ARGUMENT', `class embeddings: expected ${templateCount}×${synonymCount}×${dim} values, got ${embeddings.length}`);
  }
  const normalized = Float32Array.from(embeddings);
  normalizeRowsInPlace(normalized, rows, dim);
  if (synonymCount === 1) return normalized;
  const out = new Float32Array(templateCount * dim);
  for (let p = 0; p < templateCount; p++) {
    for (let s = 0; s < synonymCount; s++) {
      const src = (p * synonymCount + s) * dim;
      for (let d = 0; d < dim; d++) out[p * dim + d] = out[p * dim + d]! + normalized[src + d]!;
    }
    for (let d = 0; d < dim; d++) out[p * dim + d] = out[p * dim + d]! / synonymCount;
  }
  normalizeRowsInPlace(out, templateCount, dim);
  return out;
}
