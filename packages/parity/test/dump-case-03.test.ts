import { describeDumpParity } from './helpers/dump-parity.js';

// End to end through the real CLI: image file → every golden tensor of case-03.
describeDumpParity('case-03', 'tfjs');
