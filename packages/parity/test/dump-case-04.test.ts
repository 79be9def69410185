import { BACKENDS } from './helpers/backends.js';
import { describeDumpParity } from './helpers/dump-parity.js';

// End to end through the real CLI: image file → every golden tensor of case-04 (decoder pooling
// [1, 1], the authors' evaluation setting and the CLI's default), on every backend.
for (const backend of BACKENDS) describeDumpParity('case-04', backend.name);
