import { BACKENDS } from './helpers/backends.js';
import { describeDumpParity } from './helpers/dump-parity.js';

// End to end through the real CLI: image file → every golden tensor of case-02, on every backend.
for (const backend of BACKENDS) describeDumpParity('case-02', backend.name);
