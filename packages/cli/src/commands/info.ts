import { architectureFromWeights, countParameters, DEFAULT_INFERENCE_POOLING, type SedArchitecture } from '@sedseg/core';
import { findConfig, openWeightsFile } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { formatBytes, formatCount, table } from '../format.js';
import { UsageError } from '../usage-error.js';
import { resolveWeightsArg } from '../weights-arg.js';
import type { CommandIO } from '../command.js';

export const INFO_HELP = `Usage: sedseg info WEIGHTS [--config FILE] [--json]

Shows what a SED checkpoint (.pth or .safetensors) holds: the architecture as inferred from
tensor shapes, parameter counts per part, dtypes, and any missing, unexpected or mis-shaped keys.
Exits with code 1 when keys are missing or mis-shaped (the model could not run).
decoder_pooling is the training config's; segment, dump and export run the decoder with
pooling ${DEFAULT_INFERENCE_POOLING} (the authors' evaluation setting) unless --pooling says otherwise.

WEIGHTS is a file, a released model by name (sed-b, sed-l) or an http(s) URL (downloaded once
into the cache).
Options:
  --config FILE   architecture config (reference config.json layout) for the sizes that shapes
                  do not show (text_heads, decoder_heads, decoder_pooling). Default: <name>.config.json
                  or config.json beside the weights, if present.
  --json          machine-readable output, including every key with shape and dtype
  -h, --help      show this help

Examples:
  sedseg info model_final.pth
  sedseg info sed_base.safetensors --json > info.json
  sedseg info tiny/model.pth --config tiny/config.json`;

export async function infoCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('info', argv, {
    config: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(INFO_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing WEIGHTS file' : `expected one WEIGHTS file, got ${positionals.length}`, 'info');
  }
  const path = (await resolveWeightsArg(positionals[0]!, 'info', io)).path;
  const store = await openWeightsFile(path);
  try {
    const config = await findConfig(path, values.config as string | undefined);
    const options = config ? { config: config.config, configSource: config.path } : {};
    const infos = store.keys().map((k) => store.info(k)!);
    const inferred = architectureFromWeights(store, options);
    const parameters = countParameters(infos);
    const dtypes: Record<string, number> = {};
    for (const i of infos) dtypes[i.dtype] = (dtypes[i.dtype] ?? 0) + 1;
    const sizeBytes = (await import('node:fs')).statSync(path).size;
    const { check } = inferred;
    const runnable = check.missing.length === 0 && check.misShaped.length === 0;

    if (values.json) {
      io.out(
        JSON.stringify(
          {
            file: path,
            format: store.format,
            size_bytes: sizeBytes,
            tensors: infos.length,
            dtypes,
            config: config?.path ?? null,
            architecture: inferred.architecture,
            origin: inferred.origin,
            inference: {
              decoder_pooling: DEFAULT_INFERENCE_POOLING,
              note: "segment/dump/export default; architecture.decoder_pooling is the training config's",
            },
            parameters,
            check: { ok: runnable, ...check },
            keys: infos.map((i) => ({ name: i.name, shape: i.shape, dtype: i.dtype })),
          },
          null,
          2,
        ),
      );
    } else {
      io.out(`${path}: SED checkpoint (${store.format}, ${formatBytes(sizeBytes)})`);
      io.out(
        `tensors: ${infos.length} (${Object.entries(dtypes)
          .map(([d, n]) => `${n} ${d}`)
          .join(', ')})`,
      );
      io.out(`config: ${config?.path ?? 'none (shape-invisible sizes use the OpenCLIP/SED defaults)'}`);
      io.out('architecture:');
      io.out(
        table(
          (Object.keys(inferred.architecture) as (keyof SedArchitecture)[]).map((k) => [
            k,
            JSON.stringify(inferred.architecture[k]),
            `(${inferred.origin[k]})`,
          ]),
        ),
      );
      io.out(
        `inference: decoder pooling ${DEFAULT_INFERENCE_POOLING} by default (the authors' evaluation setting; decoder_pooling above is the training config's; --pooling 2 selects it)`,
      );
      io.out('parameters:');
      io.out(
        table([
          ['image encoder', formatCount(parameters.image_encoder)],
          ['text encoder', formatCount(parameters.text_encoder)],
          ['decoder', formatCount(parameters.decoder)],
          ['other', formatCount(parameters.other)],
          ['total', formatCount(parameters.total)],
        ]),
      );
      if (runnable && check.unexpected.length === 0) io.out('keys: all present with the expected shapes');
      for (const k of check.missing) io.out(`missing key: ${k}`);
      for (const m of check.misShaped) io.out(`mis-shaped key: ${m.name} [${m.actual.join(', ')}], expected [${m.expected.join(', ')}]`);
      for (const k of check.unexpected) io.out(`unexpected key (ignored): ${k}`);
    }
    return runnable ? 0 : 1;
  } finally {
    await store.close();
  }
}
