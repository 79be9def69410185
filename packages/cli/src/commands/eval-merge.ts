/**
 * `sedseg eval merge A.json B.json … --out ALL.json`: sums the confusion counts of results with
 * the same settings (typically the shards of one run) and recomputes every metric, so the merge
 * equals the single run exactly. Results with different settings, or that share an image, are
 * refused naming the difference.
 */
import { readFile } from 'node:fs/promises';
import { ConfusionMatrix, SedsegError } from '@sedseg/core';
import { writeFileAtomic } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import type { CommandIO } from '../command.js';
import { buildResult, type EvalResult, formatResult, RESULT_FORMAT } from '../eval-result.js';
import { settingsDifferences } from '../eval-settings.js';
import { UsageError } from '../usage-error.js';

export const EVAL_MERGE_HELP = `Usage: sedseg eval merge RESULT.json… --out MERGED.json

Merges results of "sedseg eval" (the shards of one run: --shard 1/n … n/n) into one: the confusion
counts are summed and every metric recomputed, so the merge equals a single run over the same
images exactly. Refused: results with different settings (dataset, model, resolution, top-k,
--limit, …), results that evaluated the same image, files that are not eval results. The merged
result says whether it covers the whole dataset ("complete").

Options:
  --out FILE   the merged result (JSON, the same form as eval --out)
  -h, --help   show this help`;

async function readResult(path: string): Promise<EvalResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SedsegError('E_IO', `${path}: cannot read (${code === 'ENOENT' ? 'no such file' : (e as Error).message})`, { cause: e });
  }
  let r: EvalResult;
  try {
    r = JSON.parse(text) as EvalResult;
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${path}: not valid JSON (${(e as Error).message})`);
  }
  if (
    r === null ||
    typeof r !== 'object' ||
    r.format !== RESULT_FORMAT ||
    !Array.isArray(r.confusion) ||
    !Array.isArray(r.images) ||
    typeof r.settings !== 'object'
  ) {
    throw new SedsegError(
      'E_FORMAT',
      `${path}: not a sedseg eval result (format ${JSON.stringify((r as { format?: unknown } | null)?.format)}, expected ${RESULT_FORMAT})`,
    );
  }
  return r;
}

export async function evalMergeCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('eval merge', argv, { out: { type: 'string' } });
  if (values.help) {
    io.out(EVAL_MERGE_HELP);
    return 0;
  }
  if (positionals.length < 1) throw new UsageError('no result files to merge', 'eval merge');
  const out = values.out as string | undefined;
  if (out === undefined) throw new UsageError('--out is required (the merged result file)', 'eval merge');
  const results: EvalResult[] = [];
  for (const p of positionals) results.push(await readResult(p));
  const first = results[0]!;
  for (let i = 1; i < results.length; i++) {
    const diffs = settingsDifferences(first.settings, results[i]!.settings);
    if (diffs.length > 0) {
      throw new SedsegError(
        'E_ARGUMENT',
        `${positionals[i]} was evaluated with other settings than ${positionals[0]} (${diffs.join('; ')}); refusing to merge`,
      );
    }
    if (results[i]!.dataset_images !== first.dataset_images) {
      throw new SedsegError(
        'E_ARGUMENT',
        `${positionals[i]} saw ${results[i]!.dataset_images} pairs in the dataset but ${positionals[0]} saw ${first.dataset_images}: the dataset folders differ; refusing to merge`,
      );
    }
  }
  const seen = new Map<number, { file: string; image: string }>();
  for (const [i, r] of results.entries()) {
    for (const im of r.images) {
      const before = seen.get(im.index);
      if (before !== undefined) {
        throw new SedsegError(
          'E_ARGUMENT',
          `${positionals[i]} and ${before.file} both evaluated image ${im.index} (${im.image}): overlapping results (the same shard twice?); refusing to merge`,
        );
      }
      seen.set(im.index, { file: positionals[i]!, image: im.image });
    }
  }
  const T = first.settings.num_classes;
  const confusion = new ConfusionMatrix(T);
  for (const [i, r] of results.entries()) confusion.addEntries(r.confusion, positionals[i]);
  const merged = buildResult({
    settings: first.settings,
    shard: null,
    datasetImages: first.dataset_images,
    classNames: first.classes,
    confusion,
    images: results.flatMap((r) => r.images),
    environment: { merged: results.map((r, i) => ({ file: positionals[i], shard: r.shard, ...r.environment })) },
    mergedFrom: positionals,
  });
  io.out(formatResult(merged));
  if (!merged.complete)
    io.err(`sedseg eval merge: note: ${merged.images.length} of the dataset's ${merged.dataset_images} images are covered (shards missing?)`);
  await writeFileAtomic(out, `${JSON.stringify(merged, null, 1)}\n`, { overwrite: true });
  io.err(`sedseg eval merge: ${results.length} result(s) merged into ${out}`);
  return 0;
}
