/**
 * What a user of the built package sees: no tfjs "install our node backend" banner on stderr, and
 * declarations that type-check in a strict consumer that lists its `types` and checks library
 * declarations (tfjs-core's use the global `Long` of @types/long without referencing it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const work = mkdtempSync(join(tmpdir(), 'sedseg-tfjs-consumer-'));
symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'), 'dir');
writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('@sedseg/backend-tfjs as a consumer uses it', () => {
  it('prints nothing on stderr when the pure-JS cpu backend computes', () => {
    writeFileSync(
      join(work, 'use.mjs'),
      `import { createTfjsOps } from '@sedseg/backend-tfjs';
const ops = await createTfjsOps({ platform: 'cpu' });
const t = ops.add(ops.constant(new Float32Array([1, 2]), [2]), ops.constant(new Float32Array([3, 4]), [2]));
console.log(Array.from(await ops.read(t)).join(','));`,
    );
    const r = spawnSync(process.execPath, ['use.mjs'], { cwd: work, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('4,6');
  });

  it('type-checks with skipLibCheck false and an explicit types list', () => {
    writeFileSync(
      join(work, 'types.ts'),
      `import { createTfjsOps, type TfjsOps } from '@sedseg/backend-tfjs';
export async function make(): Promise<TfjsOps> {
  return createTfjsOps({ platform: 'cpu' });
}`,
    );
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const args = [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      'false',
      '--types',
      'node',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--target',
      'es2022',
      'types.ts',
    ];
    const out = spawnSync(process.execPath, [tsc, ...args], { cwd: work, encoding: 'utf8' });
    expect(out.stdout + out.stderr).toBe('');
    expect(out.status).toBe(0);
  });
});
