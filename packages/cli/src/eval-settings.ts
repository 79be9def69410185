/**
 * What an evaluation's numbers depend on (`settings` in its JSON and in its state folder): two
 * runs with equal settings count the same pixels the same way, so their states may be resumed
 * and their results merged. The backend, device and threads are recorded beside (`environment`),
 * not compared: shards may run on different machines.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { SedsegError } from '@sedseg/core';

export interface EvalSettings {
  protocol: string;
  dataset: string;
  /** The authors' registration (named datasets), else null. */
  registration: string | null;
  /** Image and label folders: relative to the datasets root for named datasets, as given for a custom one. */
  image_dir: string;
  label_dir: string;
  image_ext: string;
  label_ext: string;
  ignore_label: number;
  /** Classes of the metrics. */
  num_classes: number;
  /** Predictions ≥ this count as this class (voc20b: 20), else null. */
  background_from: number | null;
  /** The model's prompts: vocabulary name (or the class file's name) and the SHA-256 of the list. */
  vocabulary: string;
  prompt_classes: number;
  prompt_classes_sha256: string;
  model: { file: string; bytes: number; sha256: string; config_sha256: string | null };
  resolution: number;
  decoder_pooling: number;
  /** CER top-k, null for the full decoder. */
  topk: number | null;
  min_size_test: number;
  max_size_test: number;
  /** --limit (the first N pairs), null for all. */
  limit: number | null;
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (e) {
    throw new SedsegError('E_IO', `${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
  return hash.digest('hex');
}

export function sha256Json(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** Canonical JSON (object keys sorted) for comparisons. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The keys (dotted paths) whose values differ, with both values, e.g. `resolution: 320 vs 384`. */
export function settingsDifferences(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => settingsDifferences(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  if (canonical(a) === canonical(b)) return [];
  const show = (v: unknown): string => (v === undefined ? '(missing)' : JSON.stringify(v));
  return [`${prefix || '(settings)'}: ${show(a)} vs ${show(b)}`];
}
