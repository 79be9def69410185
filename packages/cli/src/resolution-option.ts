/**
 * `--resolution R` and `--max-resolution M`. Memory grows with R² (the model input alone is
 * 3·R² floats, the encoder's feature maps and the decoder's cost map grow alike), and R = 4096
 * took over 6 GB, so resolutions above a limit are refused unless the limit is raised. The limit
 * itself is capped: past 8192 the model input no longer fits in one typed array of any backend.
 */
import { positiveInt } from './positive-int.js';
import { UsageError } from './usage-error.js';

export const DEFAULT_RESOLUTION = 768;
/** Default for `--max-resolution` (2.7× the official 768: about 7× its pixels). */
export const DEFAULT_MAX_RESOLUTION = 2048;
/** The largest `--max-resolution` accepted. */
export const HARD_MAX_RESOLUTION = 8192;

export function resolutionOptions(resolutionText: string | undefined, maxText: string | undefined, command: string): number {
  const max = maxText === undefined ? DEFAULT_MAX_RESOLUTION : positiveInt(maxText, '--max-resolution', command);
  if (max > HARD_MAX_RESOLUTION) throw new UsageError(`--max-resolution must be at most ${HARD_MAX_RESOLUTION}, got ${max}`, command);
  const resolution = resolutionText === undefined ? DEFAULT_RESOLUTION : positiveInt(resolutionText, '--resolution', command);
  if (resolution % 32 !== 0) throw new UsageError(`--resolution must be a multiple of 32, got ${resolution}`, command);
  if (resolution > max) {
    const raise =
      max < HARD_MAX_RESOLUTION
        ? `; --max-resolution ${Math.min(HARD_MAX_RESOLUTION, Math.ceil(resolution / 32) * 32)} raises the limit if you have the memory`
        : '';
    throw new UsageError(
      `--resolution ${resolution} is above the limit of ${max} (memory grows with its square${resolution > HARD_MAX_RESOLUTION ? `, and ${HARD_MAX_RESOLUTION} is the most possible` : raise})`,
      command,
    );
  }
  return resolution;
}
