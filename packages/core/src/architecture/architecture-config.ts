/**
 * Reading an architecture config (a `config.json` shaped like the reference's, or just its
 * `architecture` object): every field is validated and named in errors.
 */
import { SedsegError } from '../errors.js';
import { ARCHITECTURE_FIELDS, type SedArchitecture } from './sed-architecture.js';

const LIST_FIELDS = new Set<keyof SedArchitecture>([
  'image_depths',
  'image_dims',
  'decoder_dims',
  'decoder_guidance_dims',
  'decoder_guidance_proj_dims',
  'decoder_kernel_size',
  'decoder_pooling',
]);

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/**
 * Validates a parsed config and returns the architecture fields it sets. Accepts the whole
 * reference config (`{ "architecture": {...}, ... }`) or the architecture object alone;
 * unknown fields (such as `note`) are ignored.
 */
export function parseArchitectureConfig(config: unknown, source = 'config'): Partial<SedArchitecture> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new SedsegError('E_ARGUMENT', `${source}: expected a JSON object`);
  }
  const obj = config as Record<string, unknown>;
  const arch = 'architecture' in obj ? obj.architecture : obj;
  if (typeof arch !== 'object' || arch === null || Array.isArray(arch)) {
    throw new SedsegError('E_ARGUMENT', `${source}: "architecture" must be an object`);
  }
  const raw = arch as Record<string, unknown>;
  const out: Partial<Record<keyof SedArchitecture, unknown>> = {};
  for (const field of ARCHITECTURE_FIELDS) {
    if (!(field in raw)) continue;
    const v = raw[field];
    if (field === 'image_proj') {
      if (v !== 'linear' && v !== 'mlp') {
        throw new SedsegError('E_ARGUMENT', `${source}: image_proj must be "linear" or "mlp", got ${JSON.stringify(v)}`);
      }
    } else if (LIST_FIELDS.has(field)) {
      if (!Array.isArray(v) || v.length === 0 || !v.every(isPositiveInt)) {
        throw new SedsegError('E_ARGUMENT', `${source}: ${field} must be a list of positive integers, got ${JSON.stringify(v)}`);
      }
    } else if (!isPositiveInt(v)) {
      throw new SedsegError('E_ARGUMENT', `${source}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    out[field] = Array.isArray(v) ? [...v] : v;
  }
  return out as Partial<SedArchitecture>;
}
