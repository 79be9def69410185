/**
 * Packs @sedseg/core as npm would publish it, installs the tarball into a fresh project and uses
 * it from ESM and CommonJS, with its type declarations checked by tsc (node16 resolution).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/reference.js';

const pkgDir = resolve(REPO_ROOT, 'packages/core');
const work = mkdtempSync(join(tmpdir(), 'sedseg-consumer-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const USE = (load: string) => `${load}
const tok = await node.loadDefaultTokenizer();
const row = Array.from(tok.tokenize('a photo of a cat.')).slice(0, 8);
const arch = core.expectedWeightShapes;
console.log(JSON.stringify({
  row,
  vocab: core.getVocabulary('ade150').classes.length,
  synonyms: core.splitSynonyms('person, people'),
  hasArch: typeof arch === 'function',
  error: new core.SedsegError('E_ARGUMENT', 'x').code,
}));`;

const TYPES = (load: string) => `${load}
const names: readonly string[] = core.getVocabulary('voc20').classes;
const v: core.VocabularyName = 'ade847';
const t: core.TensorInfo = { name: 'a', dtype: 'float32', shape: [1] };
async function f(): Promise<number> {
  const tok = await node.loadDefaultTokenizer();
  const ids: Int32Array = tok.tokenize(['a']);
  return ids.length + names.length + v.length + t.shape.length;
}
void f;
`;

beforeAll(() => {
  if (!existsSync(join(pkgDir, 'dist/index.js'))) throw new Error('packages/core is not built: run npm run build first');
  execFileSync(npm, ['pack', '--pack-destination', work], { cwd: pkgDir, stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', join(work, tarball), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: app,
    stdio: 'pipe',
  });
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const expected = {
  row: [49406, 320, 1125, 539, 320, 2368, 269, 49407],
  vocab: 150,
  synonyms: ['person', 'people'],
  hasArch: true,
  error: 'E_ARGUMENT',
};

describe('@sedseg/core as an installed package', () => {
  it('works from ESM (import)', () => {
    const file = join(work, 'app', 'use.mjs');
    writeFileSync(file, USE(`import * as core from '@sedseg/core';\nimport * as node from '@sedseg/core/node';`));
    const out = execFileSync(process.execPath, [file], { cwd: join(work, 'app'), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(expected);
  });

  it('works from CommonJS (require)', () => {
    const file = join(work, 'app', 'use.cjs');
    writeFileSync(file, `(async () => {\n${USE(`const core = require('@sedseg/core');\nconst node = require('@sedseg/core/node');`)}\n})();`);
    const out = execFileSync(process.execPath, [file], { cwd: join(work, 'app'), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(expected);
  });

  it('ships type declarations for both module systems', () => {
    const app = join(work, 'app');
    writeFileSync(join(app, 'types.mts'), TYPES(`import * as core from '@sedseg/core';\nimport * as node from '@sedseg/core/node';`));
    writeFileSync(join(app, 'types.cts'), TYPES(`import core = require('@sedseg/core');\nimport node = require('@sedseg/core/node');`));
    const tsc = resolve(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node'];
    const typeRoots = ['--typeRoots', resolve(REPO_ROOT, 'node_modules/@types')];
    execFileSync(process.execPath, [tsc, ...args, ...typeRoots, 'types.mts', 'types.cts'], { cwd: app, encoding: 'utf8' });
  });

  it('resolves @sedseg/core/node under the older moduleResolution node10 too (typesVersions)', () => {
    const app = join(work, 'app');
    writeFileSync(join(app, 'types10.ts'), TYPES(`import core = require('@sedseg/core');\nimport node = require('@sedseg/core/node');`));
    const tsc = resolve(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--module', 'commonjs', '--moduleResolution', 'node10', '--target', 'es2022', '--types', 'node'];
    const typeRoots = ['--typeRoots', resolve(REPO_ROOT, 'node_modules/@types')];
    execFileSync(process.execPath, [tsc, ...args, ...typeRoots, 'types10.ts'], { cwd: app, encoding: 'utf8' });
  });

  it('the tarball holds the licence', () => {
    expect(existsSync(join(work, 'app', 'node_modules', '@sedseg', 'core', 'LICENSE'))).toBe(true);
  });
});
