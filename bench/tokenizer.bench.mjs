/**
 * CLIP tokenizer throughput on realistic prompts: the 80 ImageNet templates filled with every
 * synonym of every ADE-847 class name. Not a test.
 *
 *   cd packages/core && npx tsup && cd ../.. && node bench/tokenizer.bench.mjs
 *
 * Uses the built package (packages/core/dist); SEDSEG_TOKENIZER_MODULE may point at another ES
 * module exporting `ClipTokenizer` to compare implementations.
 * Prints JSON: {prompts, seconds, promptsPerSecond (warm, best of 3), loadSeconds (fromGzip with
 * fflate), cold (fresh tokenizer, empty word cache), coldWithLoad (the same plus loading), warm}.
 */
import { readFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const reference = new URL('../shared/reference/', root);

async function tokenizerClass() {
  const override = process.env.SEDSEG_TOKENIZER_MODULE;
  const mod = await import(override ?? new URL('packages/core/dist/index.js', root).href);
  if (typeof mod.ClipTokenizer !== 'function') {
    throw new Error('ClipTokenizer is not exported by the module; build packages/core first');
  }
  return mod.ClipTokenizer;
}

function prompts() {
  const config = JSON.parse(readFileSync(new URL('tiny/config.json', reference), 'utf8'));
  const templates = config.prompt_templates.templates;
  const classes = JSON.parse(readFileSync(new URL('vocabularies/ade847.json', reference), 'utf8'));
  // One batch per class: every template with every synonym, as class embeddings are built.
  return classes.map((name) => name.split(', ').flatMap((synonym) => templates.map((t) => t.replace('{}', synonym))));
}

function run(tokenizer, batches) {
  const start = performance.now();
  let rows = 0;
  for (const batch of batches) rows += tokenizer.tokenize(batch).length / 77;
  const seconds = (performance.now() - start) / 1000;
  return { seconds: +seconds.toFixed(4), promptsPerSecond: Math.round(rows / seconds) };
}

const ClipTokenizer = await tokenizerClass();
const vocabBytes = readFileSync(new URL('packages/core/data/bpe_simple_vocab_16e6.txt.gz', root));
const batches = prompts();
const count = batches.reduce((n, b) => n + b.length, 0);

const loadStart = performance.now();
const tokenizer = ClipTokenizer.fromGzip(vocabBytes);
const loadSeconds = (performance.now() - loadStart) / 1000;

const cold = run(tokenizer, batches); // fresh tokenizer: empty word cache
const warmRuns = [run(tokenizer, batches), run(tokenizer, batches), run(tokenizer, batches)];
const warm = warmRuns.reduce((a, b) => (b.seconds < a.seconds ? b : a));

console.log(
  JSON.stringify({
    prompts: count,
    seconds: warm.seconds,
    promptsPerSecond: warm.promptsPerSecond,
    loadSeconds: +loadSeconds.toFixed(4),
    cold,
    coldWithLoad: {
      seconds: +(cold.seconds + loadSeconds).toFixed(4),
      promptsPerSecond: Math.round(count / (cold.seconds + loadSeconds)),
    },
    warm,
    node: process.version,
  }),
);
