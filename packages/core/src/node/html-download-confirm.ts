/**
 * Recognising "are you sure you want to download this?" web pages and finding the request that
 * confirms them. File hosts (Google Drive for large files among them) answer a download URL
 * with such a page instead of the file. Shapes handled, whatever the host:
 *  - a GET form (preferably `id="download-form"`, else one with a `confirm` input): its action
 *    with its named inputs as the query (Drive since 2024: action
 *    https://drive.usercontent.google.com/download, hidden id / export / confirm / uuid);
 *  - a link whose URL carries `confirm=` (older Drive: `/uc?export=download&confirm=XXXX&id=…`);
 *  - a `"downloadUrl":"…"` value in an inline script (older Drive viewer).
 * The `download_warning_*` cookie variant needs the response's cookies: see cookie-jar.ts.
 * Tolerant regular-expression scanning is enough here: a miss ends in a clear error.
 */
import { decodeHTMLAttribute, decodeHTML } from 'entities';

/** True when the first bytes of a body are markup (an HTML page, whatever its content type). */
export function looksLikeHtml(head: Uint8Array, contentType: string | undefined): boolean {
  if (contentType !== undefined && /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(contentType)) return true;
  const text = new TextDecoder('latin1').decode(head.subarray(0, 64)).replace(/^\uFEFF|^\u00EF\u00BB\u00BF/, '');
  return /^\s*<(!doctype\s+html|html|head|body|!--|\?xml)/i.test(text);
}

/** The page's `<title>`, entity-decoded, blanks collapsed, at most 120 characters. */
export function htmlTitle(html: string): string | undefined {
  const m = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(html);
  if (!m) return undefined;
  const title = decodeHTML(m[1]!).replace(/\s+/g, ' ').trim();
  if (title === '') return undefined;
  return title.length > 120 ? `${title.slice(0, 117)}...` : title;
}

type Attributes = Map<string, string>;

function parseAttributes(tagBody: string): Attributes {
  const attrs: Attributes = new Map();
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (let m = re.exec(tagBody); m !== null; m = re.exec(tagBody)) {
    const name = m[1]!.toLowerCase();
    if (!attrs.has(name)) attrs.set(name, decodeHTMLAttribute(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

function httpUrl(href: string, base: URL): URL | undefined {
  try {
    const u = new URL(href, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

const SKIPPED_INPUT_TYPES = new Set(['submit', 'button', 'image', 'reset', 'file']);

function fromForm(html: string, pageUrl: URL): URL | undefined {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)].map((m) => ({
    attrs: parseAttributes(m[1]!),
    inputs: [...m[2]!.matchAll(/<input\b([^>]*)>/gi)].map((i) => parseAttributes(i[1]!)),
  }));
  const form = forms.find((f) => f.attrs.get('id') === 'download-form') ?? forms.find((f) => f.inputs.some((i) => i.get('name') === 'confirm'));
  if (!form) return undefined;
  // Only a GET form can be replayed as a download request; POST would need the page's intent.
  if ((form.attrs.get('method') ?? 'get').toLowerCase() !== 'get') return undefined;
  const action = httpUrl(form.attrs.get('action') || pageUrl.href, pageUrl);
  if (!action) return undefined;
  // A GET submission replaces the action's query with the form's fields (HTML spec).
  const query = new URLSearchParams();
  for (const input of form.inputs) {
    const name = input.get('name');
    const type = (input.get('type') ?? 'text').toLowerCase();
    if (!name || SKIPPED_INPUT_TYPES.has(type)) continue;
    if ((type === 'checkbox' || type === 'radio') && !input.has('checked')) continue;
    query.append(name, input.get('value') ?? '');
  }
  action.search = query.toString();
  action.hash = '';
  return action;
}

function fromConfirmLink(html: string, pageUrl: URL): URL | undefined {
  for (const m of html.matchAll(/\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    const href = decodeHTMLAttribute(m[1] ?? m[2] ?? '');
    const u = httpUrl(href, pageUrl);
    if (u?.searchParams.has('confirm')) return u;
  }
  return undefined;
}

function fromScript(html: string, pageUrl: URL): URL | undefined {
  const m = /"downloadUrl"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(html);
  if (!m) return undefined;
  let raw: string;
  try {
    raw = JSON.parse(`"${m[1]!}"`) as string; // \u003d, \u0026, \/ escapes
  } catch {
    return undefined;
  }
  return httpUrl(raw, pageUrl);
}

/**
 * The URL that confirms the download offered by `html` (fetched from `pageUrl`), or undefined
 * when the page is not a recognised confirmation page.
 */
export function findDownloadConfirmation(html: string, pageUrl: URL): URL | undefined {
  return fromForm(html, pageUrl) ?? fromConfirmLink(html, pageUrl) ?? fromScript(html, pageUrl);
}
