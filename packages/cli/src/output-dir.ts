/**
 * The output folder of a command: checked before anything is created (its nearest existing
 * ancestor must be a writable folder on an ordinary filesystem), created only afterwards.
 * `mkdir -p` under /proc never returns on Linux (Node retries forever), and writing into
 * /proc or /sys is never what the user meant, so such places are refused by path and by
 * filesystem type.
 */
import { constants } from 'node:fs';
import { access, mkdir, realpath, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SedsegError } from '@sedseg/core';

/** Linux `statfs` magic numbers of kernel pseudo filesystems (linux/magic.h). */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0x65735543, 'fusectl'],
  [0xde5e81e4, 'efivarfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
]);

/** Folders whose contents are the kernel's, whatever the filesystem reports. */
const PSEUDO_ROOTS = ['/proc', '/sys'];

export interface OutputDirCheck {
  /** The folder as given. */
  dir: string;
  /** Whether it exists already (else `createOutputDir` makes it). */
  exists: boolean;
}

function refuseAs(dir: string, why: string, cause?: unknown, what = 'outputs'): never {
  throw new SedsegError('E_IO', `${dir}: cannot write ${what} there (${why})`, cause === undefined ? undefined : { cause });
}

/**
 * Checks that `dir` can hold outputs without creating anything: the folder itself or, when it
 * does not exist, its nearest existing ancestor must be a folder, writable, and not on a kernel
 * pseudo filesystem. Bounded: walks up at most once per path component. `what` names what will
 * be written there, for the messages ("outputs", "the class-embedding cache"); `writable: false`
 * skips the permission check (a read-only cache can still be read).
 */
export async function checkOutputDir(dir: string, what = 'outputs', options: { writable?: boolean } = {}): Promise<OutputDirCheck> {
  const refuse = (d: string, why: string, cause?: unknown): never => refuseAs(d, why, cause, what);
  let current = resolve(dir);
  let exists = true;
  for (;;) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) refuse(dir, current === resolve(dir) ? 'not a folder' : `${current} is not a folder`);
      break;
    } catch (e) {
      if (e instanceof SedsegError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        // a file in the middle of the path: keep walking up to name it
      } else if (code !== 'ENOENT') {
        refuse(dir, code === 'EACCES' ? `${current} cannot be searched: permission denied` : (e as Error).message, e);
      }
      const parent = dirname(current);
      if (parent === current) refuse(dir, 'no existing folder above it');
      current = parent;
      exists = false;
    }
  }
  let real = current;
  try {
    real = await realpath(current);
  } catch {
    // keep the path as given: the checks below still apply
  }
  const root = PSEUDO_ROOTS.find((r) => real === r || real.startsWith(`${r}/`));
  if (root !== undefined) refuse(dir, `${root} is the kernel's, not a place for files`);
  try {
    const fs = await statfs(real);
    const kind = PSEUDO_FILESYSTEMS.get(Number(fs.type));
    if (kind !== undefined) refuse(dir, `${real} is on the kernel's ${kind} filesystem, not a place for files`);
  } catch (e) {
    if (e instanceof SedsegError) throw e;
    // statfs unsupported here: the path checks above remain
  }
  if (options.writable === false) return { dir, exists };
  try {
    await access(real, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    refuse(dir, code === 'EROFS' ? `${real} is on a read-only filesystem` : exists ? 'not writable' : `${real} is not writable`, e);
  }
  return { dir, exists };
}

/** Creates the folder checked by {@link checkOutputDir} (and its missing parents). */
export async function createOutputDir(check: OutputDirCheck): Promise<void> {
  if (check.exists) return;
  try {
    await mkdir(check.dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'not writable' : code === 'ENOTDIR' || code === 'EEXIST' ? 'not a folder' : (e as Error).message;
    refuseAs(check.dir, why, e);
  }
}
