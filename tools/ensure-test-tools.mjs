#!/usr/bin/env node
/**
 * Makes sure the programs the tests drive are installed: Chromium at /usr/bin/chromium (the
 * browser tests of examples/web) and GNU parallel (the sharded-evaluation test of the CLI, which
 * runs `sedseg eval --shard` under `parallel` as the docs show). Nothing to do when both are
 * there; as root on Debian/Ubuntu, installs the missing packages (`chromium`, `parallel`) with
 * one apt-get update and one apt-get install; otherwise prints how to install them and exits 0
 * (the tests that need them then fail, saying what is missing). Run by `npm test` before the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

const onPath = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Debian package → [is it there?, what needs it]. */
const TOOLS = {
  chromium: [() => existsSync(CHROMIUM), `${CHROMIUM} for the browser tests of examples/web`],
  parallel: [() => onPath('parallel'), 'GNU parallel for the sharded-evaluation test of packages/cli'],
};

const missing = Object.keys(TOOLS).filter((pkg) => !TOOLS[pkg][0]());
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const debianLike = existsSync('/etc/debian_version');
const what = missing.map((pkg) => `${pkg} (${TOOLS[pkg][1]})`).join(', ');

if (isRoot && onPath('apt-get') && debianLike) {
  console.log(`ensure-test-tools: missing ${what}; installing with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install =
    update.status === 0
      ? spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env })
      : update;
  const still = missing.filter((pkg) => !TOOLS[pkg][0]());
  if (install.status !== 0 || still.length > 0) {
    console.log(
      `ensure-test-tools: apt-get could not install ${still.join(', ') || missing.join(', ')} (exit ${install.status}); the tests that need them will fail until they are installed.`,
    );
  }
} else {
  console.log(
    `ensure-test-tools: missing ${what}, and they cannot be installed automatically here; install them (Debian/Ubuntu: sudo apt-get install ${missing.join(' ')}) — until then the tests that need them fail.`,
  );
}
process.exit(0);
