/**
 * Google Drive link shapes. Published links open a viewer page; `uc?export=download` serves the
 * file (small files) or a "can't scan this file for viruses" page with a confirm form (large
 * files), which the downloader handles generically (see html-download-confirm.ts).
 */

const DRIVE_HOSTS = new Set(['drive.google.com', 'docs.google.com']);
const ID = /^[A-Za-z0-9_-]{10,}$/;

/** The download endpoint for a Drive file id. */
export function driveDownloadUrl(fileId: string): string {
  return `https://drive.google.com/uc?export=download&id=${encodeURIComponent(fileId)}`;
}

/** The viewer page of a Drive file id (where a person downloads it by hand). */
export function driveViewUrl(fileId: string): string {
  return `https://drive.google.com/file/d/${encodeURIComponent(fileId)}/view`;
}

/**
 * The download URL behind a Drive viewer link (`/file/d/<id>/view…`, `/open?id=<id>`), so that
 * a link copied from a README works; any other URL is returned unchanged.
 */
export function normalizeDriveUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (!DRIVE_HOSTS.has(u.hostname)) return url;
  const fileD = /^\/file\/d\/([^/]+)(?:\/(?:view|edit|preview))?\/?$/.exec(u.pathname);
  if (fileD && ID.test(fileD[1]!)) return driveDownloadUrl(fileD[1]!);
  const id = u.searchParams.get('id');
  if (u.pathname === '/open' && id && ID.test(id)) return driveDownloadUrl(id);
  return url;
}
