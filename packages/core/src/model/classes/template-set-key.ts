/** The cache key of a prompt-template list (class embeddings are cached per template set). */
import { fnv1a64Hex } from '../../hash/fnv1a64.js';

/**
 * A stable key of a template list (order matters): `p<count>-<FNV-1a 64 of the JSON list>`,
 * e.g. the key of `IMAGENET_TEMPLATES` is always the same string.
 */
export function templateSetKey(templates: readonly string[]): string {
  return `p${templates.length}-${fnv1a64Hex(JSON.stringify(templates))}`;
}
