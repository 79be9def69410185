/** Which name each input's outputs get, so that no two inputs write the same files. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputNames } from '../src/output-names.js';

describe('output names', () => {
  it('the file name without its extension when that is unique', () => {
    expect(outputNames(['shots/photo.jpg', 'shots/street.png', 'other/tree.gif'])).toEqual(['photo', 'street', 'tree']);
  });

  it('inputs that would share it keep their extension; the others do not', () => {
    expect(outputNames(['d/photo.avif', 'd/photo.gif', 'd/other.png'])).toEqual(['photo.avif', 'photo.gif', 'other']);
  });

  it('names are compared ignoring case (macOS and Windows folders do)', () => {
    expect(outputNames(['d/Photo.png', 'd/photo.jpg'])).toEqual(['Photo.png', 'photo.jpg']);
  });

  it('the same file name in different folders: the path from their common folder', () => {
    expect(outputNames([join('data', 'a', 'photo.jpg'), join('data', 'b', 'photo.jpg'), join('data', 'b', 'photo.png')])).toEqual([
      'a_photo.jpg',
      'b_photo.jpg',
      'photo.png',
    ]);
    expect(outputNames([join('data', 'photo.jpg'), join('data', 'sub', 'deep', 'photo.jpg')])).toEqual(['photo.jpg', 'sub_deep_photo.jpg']);
  });

  it('refuses inputs whose names cannot be told apart', () => {
    expect(() => outputNames([join('r', 'a_b', 'x.png'), join('r', 'a', 'b', 'x.png')])).toThrow(
      /a_b.x\.png and .*x\.png would write the same outputs \(a_b_x\.png\.\*\)/,
    );
  });
});
