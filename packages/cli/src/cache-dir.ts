import { homedir } from 'node:os';
import { join } from 'node:path';

/** The per-user cache folder of sedseg (XDG on Linux, Library/Caches on macOS, LOCALAPPDATA on Windows). */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.SEDSEG_CACHE_DIR) return env.SEDSEG_CACHE_DIR;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'sedseg');
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'sedseg', 'Cache');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sedseg');
}
