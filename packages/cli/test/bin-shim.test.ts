/**
 * The `sedseg` command as a user of a checkout runs it: `npm ci && npm run build`, then
 * `npx sedseg …` from the checkout. npm links a workspace's bin at install time, before the
 * build, so the bin is a committed shim (bin/sedseg.js) that loads dist/cli.js.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript (checked with @ts-check), no declaration file
import { wantsMallocTuning } from '../bin/malloc-tuning.js';

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
    copyFileSync(resolve(here, '../bin/malloc-tuning.js'), join(bin, 'malloc-tuning.js'));
    const r = spawnSync(process.execPath, [join(bin, 'sedseg.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^sedseg: the command is not built yet \(.*dist\/cli\.js is missing\): run "npm run build" in the sedseg checkout$/);
  });
});

/**
 * A preload (`--import`, forwarded to the re-started command like any Node.js flag) that records
 * each process's pid and threshold setting, and in the re-started one does what `mode` says.
 */
function probe(mode: 'record' | 'die' | 'wait'): { flag: string; log: string } {
  const log = join(work, `probe-${mode}.log`);
  const file = join(work, `probe-${mode}.mjs`);
  rmSync(log, { force: true });
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(log)}, process.pid + ' ' + (process.env.MALLOC_MMAP_THRESHOLD_ ?? '-') + '\\n');
if (process.env.MALLOC_MMAP_THRESHOLD_ !== undefined) {
  if (${JSON.stringify(mode)} === 'die') process.kill(process.pid, 'SIGTERM');
  if (${JSON.stringify(mode)} === 'wait') setInterval(() => {}, 1000);
}
`,
  );
  return { flag: `--import=${pathToFileURL(file).href}`, log };
}

const records = (log: string): string[][] =>
  existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
    : [];

describe.runIf(process.platform === 'linux')('the shim and glibc malloc (bin/malloc-tuning.js)', () => {
  it('decides from the platform and the environment', () => {
    expect(wantsMallocTuning({}, 'linux')).toBe(true);
    expect(wantsMallocTuning({ MALLOC_MMAP_THRESHOLD_: '65536' }, 'linux')).toBe(false); // the user's own setting wins
    expect(wantsMallocTuning({ SEDSEG_MALLOC_TUNING: '0' }, 'linux')).toBe(false);
    expect(wantsMallocTuning({}, 'darwin')).toBe(false);
  });

  it('runs the command again with a fixed mmap threshold, same flags, arguments, output and exit status', () => {
    const env = { ...process.env };
    delete env.MALLOC_MMAP_THRESHOLD_;
    delete env.SEDSEG_MALLOC_TUNING;
    const { flag, log } = probe('record');
    const ok = spawnSync(process.execPath, [flag, SHIM, '--version'], { encoding: 'utf8', env });
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const [parent, child] = records(log);
    expect(parent![1]).toBe('-');
    expect(child![1]).toBe('131072');
    expect(child![0]).not.toBe(parent![0]);

    const bad = spawnSync(process.execPath, [SHIM, 'no-such-command'], { encoding: 'utf8', env });
    const direct = spawnSync(process.execPath, [resolve(here, '../dist/cli.js'), 'no-such-command'], { encoding: 'utf8', env });
    expect(bad.status).toBe(direct.status);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toBe(direct.stderr);

    // not again when the threshold is set, nor when turned off
    for (const extra of [{ MALLOC_MMAP_THRESHOLD_: '65536' }, { SEDSEG_MALLOC_TUNING: '0' }]) {
      const once = probe('record');
      expect(spawnSync(process.execPath, [once.flag, SHIM, '--version'], { encoding: 'utf8', env: { ...env, ...extra } }).status).toBe(0);
      expect(records(once.log)).toHaveLength(1);
    }
  });

  it('ends by the signal that ended the command, and passes a signal it receives on to it', async () => {
    const env = { ...process.env };
    delete env.MALLOC_MMAP_THRESHOLD_;
    delete env.SEDSEG_MALLOC_TUNING;
    const dies = probe('die');
    const r = spawnSync(process.execPath, [dies.flag, SHIM, '--version'], { encoding: 'utf8', env });
    expect(r.signal).toBe('SIGTERM');

    const waits = probe('wait');
    const parent = spawn(process.execPath, [waits.flag, SHIM, '--version'], { env, stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((done) => parent.on('exit', (_code, signal) => done(signal)));
    const deadline = Date.now() + 20_000;
    while (records(waits.log).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const childPid = Number(records(waits.log)[1]![0]);
    parent.kill('SIGTERM');
    expect(await ended).toBe('SIGTERM');
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try {
        process.kill(childPid, 0);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });
});
