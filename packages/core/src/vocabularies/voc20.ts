// Generated from the reference vocabulary voc20.json: PASCAL VOC, 20 classes (PAS-20). Index = class id.
// Names containing ', ' are synonym lists.
export const VOC20: readonly string[] = Object.freeze([
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
]);
