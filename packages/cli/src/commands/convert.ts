import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import {
  architectureFromWeights,
  assertWeightsComplete,
  castFloat,
  isFloatDType,
  SedsegError,
  toFloat32,
  type FloatDType,
  type HostTensor,
  type SedArchitecture,
  type TensorInfo,
} from '@sedseg/core';
import { configCandidates, entryExists, findConfig, openWeightsFile, writeFileAtomic, writePthFile, writeSafetensorsFile } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../usage-error.js';
import { resolveWeightsArg } from '../weights-arg.js';
import type { CommandIO } from '../command.js';

const OVERWRITE_HINT = 'use --overwrite to replace it';

export const CONVERT_HELP = `Usage: sedseg convert WEIGHTS --out F.safetensors|F.pth [--fp16 | --bf16] [--config FILE] [--overwrite]

Converts a SED checkpoint (.pth or .safetensors) to a safetensors file or to a PyTorch
checkpoint, one tensor at a time (the checkpoint is never held in memory whole). The architecture is inferred from the tensor
shapes and checked first: a checkpoint of another kind, or with missing or mis-shaped keys, is
refused. Only the tensors the model uses (plus logit_scale) are kept; unexpected keys are
dropped and counted. The inferred architecture is also written beside the output as
<F>.config.json, where "sedseg" finds it on its own, so sizes that shapes do not show
(text_heads, decoder_heads, decoder_pooling) survive the conversion.

An --out ending in .pth gets the torch.save format the authors' PyTorch code loads:
torch.load(F) returns {"model": state_dict}, an OrderedDict of the official key names to
CPU tensors (float32, or float16 / bfloat16 with --fp16 / --bf16).

WEIGHTS is a file, a released model by name (sed-b, sed-l) or an http(s) URL (downloaded once
into the cache).
Options:
  --out F          output file: .safetensors, or .pth for torch.load (its config goes to F without
                   the extension + .config.json)
  --fp16           store float tensors as float16 (default: float32)
  --bf16           store float tensors as bfloat16
  --config FILE    architecture config (reference config.json layout). Default: <name>.config.json
                   or config.json beside the weights, if present.
  --overwrite      replace the output files if they exist
  -h, --help       show this help

Examples:
  sedseg convert model_final.pth --out sed_base.safetensors
  sedseg convert model_final.pth --out sed_base.fp16.safetensors --fp16
  sedseg convert run/model.safetensors --out model_final.pth
  sedseg convert tiny/model.pth --config tiny/config.json --out tiny.safetensors --overwrite`;

/** Where the config of a converted file goes: the first place `findConfig` looks. */
export function convertedConfigPath(out: string): string {
  return configCandidates(out)[0]!;
}

/** The output folder must exist and be writable; both outputs must be new unless overwriting. */
async function checkOutputs(files: readonly string[], overwrite: boolean): Promise<void> {
  const dir = dirname(files[0]!);
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SedsegError('E_IO', `${dir}: output directory ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`}`, {
      cause: e,
    });
  }
  if (!isDir) throw new SedsegError('E_IO', `${dir}: output directory is not a directory`);
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    throw new SedsegError('E_IO', `${dir}: output directory is not writable`, { cause: e });
  }
  for (const f of files) {
    if (!overwrite && (await entryExists(f))) throw new SedsegError('E_IO', `${f} exists (use --overwrite to replace it)`);
  }
}

export async function convertCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('convert', argv, {
    out: { type: 'string' },
    fp16: { type: 'boolean' },
    bf16: { type: 'boolean' },
    config: { type: 'string' },
    overwrite: { type: 'boolean' },
  });
  if (values.help) {
    io.out(CONVERT_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing WEIGHTS file' : `expected one WEIGHTS file, got ${positionals.length}`, 'convert');
  }
  const input = positionals[0]!;
  const out = values.out as string | undefined;
  if (out === undefined || out === '') throw new UsageError('missing --out', 'convert');
  const format = /\.safetensors$/i.test(out) ? 'safetensors' : /\.pth$/i.test(out) ? 'pth' : undefined;
  if (format === undefined) throw new UsageError(`--out must name a .safetensors or .pth file, got "${out}"`, 'convert');
  if (values.fp16 && values.bf16) throw new UsageError('--fp16 and --bf16 exclude each other', 'convert');
  const dtype: FloatDType = values.fp16 ? 'float16' : values.bf16 ? 'bfloat16' : 'float32';
  const overwrite = Boolean(values.overwrite);
  const configOut = convertedConfigPath(out);
  if (resolve(out) === resolve(input)) throw new UsageError('--out must differ from the input file', 'convert');

  const start = performance.now();
  const weightsPath = (await resolveWeightsArg(input, 'convert', io)).path;
  if (resolve(out) === resolve(weightsPath)) throw new UsageError('--out must differ from the input file', 'convert');
  const store = await openWeightsFile(weightsPath);
  let kept: TensorInfo[];
  let dropped: number;
  let architecture: SedArchitecture;
  try {
    const config = await findConfig(weightsPath, values.config as string | undefined);
    const inferred = architectureFromWeights(store, config ? { config: config.config, configSource: config.path } : {});
    assertWeightsComplete(inferred.check, input);
    const unexpected = new Set(inferred.check.unexpected);
    dropped = unexpected.size;
    const converted = (d: TensorInfo['dtype']): TensorInfo['dtype'] => (isFloatDType(d) ? dtype : d);
    kept = store
      .keys()
      .filter((k) => !unexpected.has(k))
      .map((k) => {
        const info = store.info(k)!;
        return { name: info.name, dtype: converted(info.dtype), shape: [...info.shape] };
      });
    architecture = inferred.architecture;
    await checkOutputs([out, configOut], overwrite);

    async function* tensors(): AsyncGenerator<readonly [string, HostTensor]> {
      for (const { name } of kept) {
        const t = await store.read(name);
        if (!isFloatDType(t.dtype)) yield [name, t];
        else yield [name, dtype === 'float32' ? toFloat32(t) : castFloat(t, dtype)];
      }
    }
    if (format === 'pth') {
      // torch.save has no place for metadata: the config written beside it keeps the architecture.
      await writePthFile(out, tensors(), { infos: kept, overwrite, overwriteHint: OVERWRITE_HINT });
    } else {
      await writeSafetensorsFile(out, tensors(), {
        infos: kept,
        metadata: { format: 'pt', 'sedseg.source': basename(input), 'sedseg.architecture': JSON.stringify(architecture) },
        overwrite,
        overwriteHint: OVERWRITE_HINT,
      });
    }
  } finally {
    await store.close();
  }
  await writeFileAtomic(configOut, `${JSON.stringify({ architecture }, null, 2)}\n`, { overwrite, overwriteHint: OVERWRITE_HINT });

  const size = (await stat(out)).size;
  const seconds = (performance.now() - start) / 1000;
  io.out(
    `${out}: ${kept.length} tensors, ${dtype}, ${(size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s` +
      ` (${dropped} unexpected key${dropped === 1 ? '' : 's'} dropped; config ${configOut})`,
  );
  return 0;
}
