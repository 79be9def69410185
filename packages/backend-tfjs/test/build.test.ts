/**
 * The built package (dist/, from `npx tsup`) loads from ESM and CJS and finds the wasm files
 * in both (the CJS build relies on tsup's import.meta.url shim). Skipped when dist is absent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(`${root}dist/index.js`) && existsSync(`${root}dist/index.cjs`);

const body = `
  const out = [];
  for (const platform of ['cpu', 'wasm']) {
    const ops = await m.createTfjsOps({ platform });
    const x = ops.constant(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
    const w = ops.constant(new Float32Array([1, 1, 1, 1]), [1, 1, 2, 2]);
    const y = await ops.read(ops.conv2d(x, w, undefined));
    out.push(ops.platform + ':' + ops.backend + ':' + y[0]);
  }
  const e = await m.loadTfjs('node').catch((err) => err);
  out.push(e.code);
  console.log(JSON.stringify(out));
`;

function run(args: string[]): string[] {
  const stdout = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(stdout.trim().split('\n').pop()!) as string[];
}

describe.skipIf(!built)('built package', () => {
  const expected = ['cpu:cpu:10', 'wasm:wasm:10', 'E_ARGUMENT'];
  it('works from ESM (dist/index.js)', () => {
    expect(run(['--input-type=module', '-e', `const m = await import('./dist/index.js');${body}`])).toEqual(expected);
  });
  it('works from CJS (dist/index.cjs)', () => {
    expect(run(['-e', `(async () => { const m = require('./dist/index.cjs');${body} })()`])).toEqual(expected);
  });
});
