import { describe, expect, it } from 'vitest';
import { baseStageName, PrebuiltStages, type ManifestStage } from '../src/index.js';

const layer = (file: string, side: number): ManifestStage => ({
  name: 'decoderLayer0',
  file,
  bytes: 1,
  inputs: [
    { name: 'x', dtype: 'float32', dims: ['classes', 128, side, side] },
    { name: 'guidance', dtype: 'float32', dims: [1, 32, 2 * side, 2 * side] },
  ],
  outputs: [
    { name: 'features', dtype: 'float32', dims: ['classes', 64, 2 * side, 2 * side] },
    { name: 'logits', dtype: 'float32', dims: [1, 'classes', 2 * side, 2 * side] },
  ],
});

describe('PrebuiltStages', () => {
  const stages = new PrebuiltStages([layer('r256/decoderLayer0.onnx', 8), layer('r320/decoderLayer0.onnx', 10)], async () => new Uint8Array());

  it('finds the graph by base name, input sizes (named dims take any size) and outputs', () => {
    expect(baseStageName('decoderLayer0[features,logits]')).toBe('decoderLayer0');
    const shapes = (side: number, classes: number) => ({ x: [classes, 128, side, side], guidance: [1, 32, 2 * side, 2 * side] });
    expect(stages.find('decoderLayer0[features]', shapes(10, 7), ['features'])?.file).toBe('r320/decoderLayer0.onnx');
    expect(stages.find('decoderLayer0[features,logits]', shapes(8, 150), ['features', 'logits'])?.file).toBe('r256/decoderLayer0.onnx');
  });

  it('finds nothing for other sizes, other names, missing outputs or other inputs', () => {
    const shapes = { x: [3, 128, 12, 12], guidance: [1, 32, 24, 24] };
    expect(stages.find('decoderLayer0', shapes, ['features'])).toBeUndefined();
    expect(stages.find('decoderLayer1', { x: [3, 128, 8, 8], guidance: [1, 32, 16, 16] }, ['features'])).toBeUndefined();
    expect(stages.find('decoderLayer0', { x: [3, 128, 8, 8], guidance: [1, 32, 16, 16] }, ['corrGuidance'])).toBeUndefined();
    expect(stages.find('decoderLayer0', { x: [3, 128, 8, 8] }, ['features'])).toBeUndefined();
    expect(stages.names).toEqual(['decoderLayer0']);
  });
});
