import { DEFAULT_INFERENCE_POOLING } from '@sedseg/core';
import { UsageError } from './usage-error.js';

/**
 * The `--pooling` help, the same for every command that runs the decoder; `column` is where the
 * command's option descriptions start.
 */
export function poolingHelp(column: number): string {
  const lines = [
    `decoder pooling before each class attention (default ${DEFAULT_INFERENCE_POOLING}: the authors'`,
    "evaluation setting that produced the paper's numbers; 2: their training setting,",
    'about 4× less class-attention work, different results)',
  ];
  return lines.map((line, i) => (i === 0 ? '  --pooling 1|2'.padEnd(column) : ' '.repeat(column)) + line).join('\n');
}

/** Parses `--pooling` (1 or 2; default 1, whatever the checkpoint's training config says). */
export function poolingOption(value: string | undefined, command: string): number {
  if (value === undefined) return DEFAULT_INFERENCE_POOLING;
  if (value !== '1' && value !== '2') throw new UsageError(`--pooling must be 1 or 2, got "${value}"`, command);
  return Number(value);
}
