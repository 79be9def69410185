/**
 * Earlier public names, kept so that code written against them still works. They used "stage"
 * for plain forward functions; "stage" now only names compiled-graph units (`Stage`), whose
 * factories all end in `StageOf`. Drop these at the next major version.
 */
import { appearanceGuidanceForward, costMapForward, decoderInputForward, decoderLayerForward } from './decoder/decoder-forward.js';
import { imageEncoderStageOf } from './stages/image-encoder-stage.js';

/** @deprecated Renamed `decoderInputForward` (a forward function, not a `Stage`). */
export const decoderInputStage = decoderInputForward;
/** @deprecated Renamed `costMapForward` (a forward function, not a `Stage`). */
export const costMapStage = costMapForward;
/** @deprecated Renamed `appearanceGuidanceForward` (a forward function, not a `Stage`). */
export const appearanceGuidanceStage = appearanceGuidanceForward;
/** @deprecated Renamed `decoderLayerForward` (a forward function, not a `Stage`). */
export const decoderLayerStage = decoderLayerForward;
/** @deprecated Renamed `imageEncoderStageOf`, like the other stage factories. */
export const imageEncoderStage = imageEncoderStageOf;
