import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SedsegError } from '@sedseg/core';
import { entryExists, loadSedModel, pathExists, writeFileAtomic } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { positiveInt } from '../positive-int.js';
import { poolingOption, poolingHelp } from '../pooling-option.js';
import { UsageError } from '../usage-error.js';
import { resolveWeightsArg } from '../weights-arg.js';
import type { CommandIO } from '../command.js';

export const EXPORT_HELP = `Usage: sedseg export --weights W --out DIR [--resolution R]... [--pooling 1|2] [--fp16] [--config FILE] [--overwrite]

Writes the SED stages of a checkpoint as standalone ONNX graphs (opset 17, weights inside,
the class count a dynamic dimension) and a manifest.json saying how to chain them:

  DIR/r<R>/imageEncoder.onnx    image [1, 3, R, R] -> stem, res2..res5, dense
  DIR/r<R>/appearanceGuidance.onnx  res2, res3, res4 -> guidances of the three decoder layers
  DIR/r<R>/decoderInput.onnx    dense, text [classes, P, D] -> cost map embedding, head0 logits
  DIR/r<R>/decoderLayer0..2.onnx  -> features, corr guidance, logits
  DIR/text/textEncoder.onnx     padded token embeddings [batch, length, W] -> text features (once)
  DIR/text/*_embedding.bin      token and positional embedding tables (raw, float32 or float16)
  DIR/manifest.json             stages, inputs/outputs with dims, dtype, pre-processing, templates,
                                the text steps (tokenize, look up, encode, average per class)

The graphs load in onnxruntime-node and onnxruntime-web (tested with its wasm backend).

Options:
  --weights W        SED checkpoint: a file (.pth or .safetensors), a released model by name
                     (sed-b, sed-l) or an http(s) URL (downloaded once into the cache)
  --out DIR          output folder (created; existing files are kept unless --overwrite)
  --resolution R     input side, a multiple of 32 (repeatable; default 768)
${poolingHelp(21)}
  --fp16             store weights as float16 (half the size; results within 1e-2 relative)
  --config FILE      architecture config (reference config.json layout)
  --overwrite        replace existing files in DIR
  -h, --help         show this help

Examples:
  sedseg export --weights sed_model_base.pth --out sed-b-onnx
  sedseg export --weights sed_model_base.pth --out sed-b-web --resolution 384 --fp16`;

export async function exportCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('export', argv, {
    weights: { type: 'string' },
    config: { type: 'string' },
    out: { type: 'string' },
    resolution: { type: 'string', multiple: true },
    fp16: { type: 'boolean' },
    pooling: { type: 'string' },
    overwrite: { type: 'boolean' },
  });
  if (values.help) {
    io.out(EXPORT_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'export');
  if (values.weights === undefined) throw new UsageError('missing --weights (a SED checkpoint, .pth or .safetensors)', 'export');
  if (values.out === undefined) throw new UsageError('missing --out DIR', 'export');
  const resolutions = ((values.resolution as string[] | undefined) ?? ['768']).map((r) => positiveInt(r, '--resolution', 'export'));
  for (const r of resolutions) if (r % 32 !== 0) throw new UsageError(`--resolution must be a multiple of 32, got ${r}`, 'export');
  const pooling = poolingOption(values.pooling as string | undefined, 'export');
  const out = values.out as string;
  if ((await pathExists(out)) && !(await stat(out)).isDirectory()) throw new SedsegError('E_IO', `${out}: exists and is not a folder`);

  const { createOrtOps, exportStageGraphs } = await import('@sedseg/backend-ort');
  const weights = await resolveWeightsArg(values.weights as string, 'export', io);
  const model = await loadSedModel(weights.path, {
    backend: createOrtOps(),
    ...(values.config !== undefined ? { configPath: values.config as string } : {}),
  });
  let total = 0;
  let count = 0;
  try {
    const manifestPath = join(out, 'manifest.json');
    if (!values.overwrite && (await entryExists(manifestPath))) throw new SedsegError('E_IO', `${manifestPath} exists (use --overwrite to replace the export)`);
    for await (const file of exportStageGraphs(model, { resolutions, pooling, fp16: Boolean(values.fp16) })) {
      const path = join(out, file.path);
      await mkdir(dirname(path), { recursive: true }).catch((e: Error) => {
        throw new SedsegError('E_IO', `${dirname(path)}: cannot create the output folder (${e.message})`, { cause: e });
      });
      // Written beside, then moved into place: an interrupted export leaves no half-written graph.
      await writeFileAtomic(path, file.bytes, { overwrite: Boolean(values.overwrite), overwriteHint: 'use --overwrite to replace it' });
      total += file.bytes.length;
      if (file.path.endsWith('.onnx')) count++;
    }
  } finally {
    model.dispose();
  }
  io.out(
    `${out}: ${count} graphs + embedding tables + manifest.json, ${(total / 2 ** 20).toFixed(1)} MiB (R=${resolutions.join(', ')}, decoder pooling ${pooling}, weights ${values.fp16 ? 'float16' : 'float32'})`,
  );
  return 0;
}
