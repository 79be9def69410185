import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { SedsegError } from '../errors.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';

const VOCAB_FILE = 'bpe_simple_vocab_16e6.txt.gz';

/**
 * Where the shipped vocabulary can be, relative to this module: the bundles live in
 * `packages/core/dist/` (one level below the package root), the sources this file is run from by
 * the tests in `packages/core/src/node/` (two levels).
 */
function candidateUrls(): URL[] {
  return [new URL(`../data/${VOCAB_FILE}`, import.meta.url), new URL(`../../data/${VOCAB_FILE}`, import.meta.url)];
}

async function load(): Promise<ClipTokenizer> {
  const tried: string[] = [];
  for (const url of candidateUrls()) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(url);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        tried.push(fileURLToPath(url));
        continue;
      }
      throw new SedsegError('E_IO', `${fileURLToPath(url)}: cannot read the CLIP BPE vocabulary (${code ?? (e as Error).message})`, { cause: e });
    }
    return ClipTokenizer.fromGzip(bytes, { gunzip: (gz) => gunzipSync(gz) });
  }
  throw new SedsegError('E_IO', `CLIP BPE vocabulary ${VOCAB_FILE} not found (looked at ${tried.join(', ')}); is the package's data/ folder installed?`);
}

let pending: Promise<ClipTokenizer> | undefined;

/**
 * The CLIP tokenizer with the vocabulary shipped in `@sedseg/core/data` (read once; later calls
 * return the same instance). A failed load is not memoized, so a later call retries.
 */
export function loadDefaultTokenizer(): Promise<ClipTokenizer> {
  pending ??= load().catch((e: unknown) => {
    pending = undefined;
    throw e;
  });
  return pending;
}
