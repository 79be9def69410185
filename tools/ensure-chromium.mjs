#!/usr/bin/env node
/**
 * Makes sure Chromium is at /usr/bin/chromium for the browser tests (examples/web/test): nothing to
 * do when it is there; as root on Debian/Ubuntu, installs the `chromium` package with apt-get;
 * otherwise prints how to install it and exits 0 (the browser tests then fail, saying Chromium
 * is missing). Run by `npm test` before the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

if (existsSync(CHROMIUM)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
const debianLike = existsSync('/etc/debian_version');

if (isRoot && hasApt && debianLike) {
  console.log(`ensure-chromium: ${CHROMIUM} is missing; installing the chromium package with apt-get (for the browser tests)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install =
    update.status === 0
      ? spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env })
      : update;
  if (install.status !== 0 || !existsSync(CHROMIUM)) {
    console.log(`ensure-chromium: apt-get could not install chromium (exit ${install.status}); the browser tests will fail until ${CHROMIUM} exists.`);
  }
} else {
  console.log(
    `ensure-chromium: ${CHROMIUM} is missing and cannot be installed automatically here; install Chromium (Debian/Ubuntu: sudo apt-get install chromium) — until then the browser tests of examples/web fail.`,
  );
}
process.exit(0);
