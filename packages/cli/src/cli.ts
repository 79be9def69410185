import { createRequire } from 'node:module';
import { isSedsegError } from '@sedseg/core';
import type { Command, CommandIO } from './command.js';
import { backendsCommand } from './commands/backends.js';
import { convertCommand } from './commands/convert.js';
import { dumpCommand } from './commands/dump.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { infoCommand } from './commands/info.js';
import { segmentCommand } from './commands/segment.js';
import { tokenizeCommand } from './commands/tokenize.js';
import { UsageError } from './usage-error.js';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  segment: { run: segmentCommand, summary: 'segment images for any list of class names' },
  eval: { run: evalCommand, summary: "evaluate on a benchmark (ADE, PASCAL Context, VOC) with the authors' protocol; merge shards" },
  convert: { run: convertCommand, summary: 'convert a checkpoint to safetensors or .pth (fp32, fp16 or bf16)' },
  train: {
    run: async (argv, io) => (await import('./commands/train.js')).trainCommand(argv, io),
    summary: "fine-tune on a labelled dataset with the authors' recipe (resumable)",
  },
  export: { run: exportCommand, summary: 'write the model as ONNX stage graphs (+ manifest) for onnxruntime-node/-web' },
  info: { run: infoCommand, summary: 'show the architecture, parameters and keys of a checkpoint' },
  tokenize: { run: tokenizeCommand, summary: 'CLIP-tokenize texts into 77 token ids' },
  dump: { run: dumpCommand, summary: 'write every intermediate tensor of one run (for parity checks)' },
  'train-step': {
    run: async (argv, io) => (await import('./commands/train-step.js')).trainStepCommand(argv, io),
    summary: "run one training step on a fixed batch and write losses, gradients and updated weights (parity with the authors')",
  },
  backends: { run: backendsCommand, summary: 'list the backends and devices that run on this machine' },
  conformance: {
    run: async (argv, io) => (await import('./commands/conformance.js')).conformanceCommand(argv, io),
    summary: 'check a backend: every operator against exact references, and the golden cases',
  },
};

const HELP = `Usage: sedseg <command> [options]

Open-vocabulary semantic segmentation with SED (CVPR 2024), in Node.js.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(13)}${c.summary}`)
  .join('\n')}

Run "sedseg <command> --help" for a command's options and examples.
Options: --version, --help`;

const io: CommandIO = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.out(HELP);
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    io.out(VERSION);
    return 0;
  }
  const command = COMMANDS[first];
  if (!command) throw new UsageError(`unknown command "${first}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  return command.run(rest, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      const where = e.command ? `sedseg ${e.command}` : 'sedseg';
      io.err(`${where}: ${e.message} (see "${where} --help")`);
      process.exitCode = 2;
    } else if (isSedsegError(e)) {
      io.err(`sedseg: error: ${e.message}`);
      process.exitCode = 1;
    } else {
      // An unforeseen failure is a bug: keep the stack so it can be reported.
      io.err(`sedseg: internal error: ${(e as Error)?.stack ?? String(e)}`);
      process.exitCode = 70;
    }
  },
);
