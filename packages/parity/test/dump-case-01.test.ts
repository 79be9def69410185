import { describeDumpParity } from './helpers/dump-parity.js';

// End to end through the real CLI: image file → every golden tensor of case-01.
describeDumpParity('case-01', 'tfjs');
