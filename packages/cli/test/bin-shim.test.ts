/**
 * The `sedseg` command as a user of a checkout runs it: `npm ci && npm run build`, then
 * `npx sedseg …` from the checkout. npm links a workspace's bin at install time, before the
 * build, so the bin is a committed shim (bin/sedseg.js) that loads dist/cli.js.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../../..');
const SHIM = resolve(here, '../bin/sedseg.js');
const work = mkdtempSync(join(tmpdir(), 'sedseg-bin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the sedseg bin of a checkout', () => {
  it('`npx --no-install sedseg --version` works from the repository root (no registry lookup)', () => {
    const r = spawnSync('npx', ['--no-install', 'sedseg', '--version'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(resolve(here, '../package.json'), 'utf8')).version);
  });

  it('the package.json bin is the committed shim', () => {
    const pkg = JSON.parse(readFileSync(resolve(here, '../package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ sedseg: './bin/sedseg.js' });
    expect(pkg.files).toContain('bin');
  });

  it('before the build, the shim says to run the build (one line, exit 1)', () => {
    const bin = join(work, 'pkg', 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(SHIM, join(bin, 'sedseg.js'));
    const r = spawnSync(process.execPath, [join(bin, 'sedseg.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^sedseg: the command is not built yet \(.*dist\/cli\.js is missing\): run "npm run build" in the sedseg checkout$/);
  });
});
