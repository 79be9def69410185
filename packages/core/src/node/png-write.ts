/**
 * A minimal PNG writer for 8-bit grayscale (label maps) and 8-bit RGB (images): one IDAT, filter
 * None on every row, `node:zlib` deflate, the core's CRC-32. What the synthetic dataset writes;
 * `decodePngLabels` and any image decoder read it back.
 */
import { deflateSync } from 'node:zlib';
import { SedsegError } from '../errors.js';
import { crc32 } from '../io/crc32.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG bytes of a W×H image with 1 (grayscale) or 3 (RGB) interleaved 8-bit channels. */
export function encodePng8(width: number, height: number, channels: 1 | 3, data: Uint8Array | Uint8ClampedArray): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * channels) {
    throw new SedsegError('E_ARGUMENT', `PNG: ${data.length} bytes do not make a ${width}×${height}×${channels} image`);
  }
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1)); // each row: filter byte 0, then the samples
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // colour type: grayscale / RGB
  const z = deflateSync(raw);
  const chunks: [string, Uint8Array][] = [
    ['IHDR', header],
    ['IDAT', new Uint8Array(z.buffer, z.byteOffset, z.byteLength)],
    ['IEND', new Uint8Array(0)],
  ];
  const out = new Uint8Array(8 + chunks.reduce((n, [, body]) => n + 12 + body.length, 0));
  out.set(SIGNATURE, 0);
  const view = new DataView(out.buffer);
  let o = 8;
  for (const [type, body] of chunks) {
    view.setUint32(o, body.length);
    for (let i = 0; i < 4; i++) out[o + 4 + i] = type.charCodeAt(i);
    out.set(body, o + 8);
    view.setUint32(o + 8 + body.length, crc32(out.subarray(o + 4, o + 8 + body.length)));
    o += 12 + body.length;
  }
  return out;
}
