#!/usr/bin/env node
// A small labelled dataset to try `sedseg train` on: the synthetic shapes of @sedseg/core
// (grass, red circle, blue square, yellow triangle, white stripe; shape outlines labelled 255).
//
//   node examples/fine-tune/make-dataset.mjs [DIR] [TRAIN_COUNT] [VAL_COUNT] [SIZE]
//
// writes DIR/train/{images,labels}, DIR/val/{images,labels} (PNG) and DIR/classes.json
// (class k = label value k), by default DIR = shapes, 64 training and 8 validation images of
// 256×256. Same arguments, same files (the seeds are fixed).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSyntheticDataset } from '@sedseg/core/node';

const [dir = 'shapes', trainCount = '64', valCount = '8', size = '256'] = process.argv.slice(2);
const side = Number(size);
let train;
try {
  train = await writeSyntheticDataset(join(dir, 'train'), Number(trainCount), 1, { width: side, height: side });
  await writeSyntheticDataset(join(dir, 'val'), Number(valCount), 2, { width: side, height: side });
  await writeFile(join(dir, 'classes.json'), `${JSON.stringify(train.classNames)}\n`);
} catch (e) {
  console.error(`make-dataset: ${e.message} (usage: make-dataset.mjs [DIR] [TRAIN_COUNT] [VAL_COUNT] [SIZE])`);
  process.exit(1);
}
console.log(`${dir}: ${trainCount} training and ${valCount} validation images of ${side}×${side}, classes ${train.classNames.join(', ')}`);
