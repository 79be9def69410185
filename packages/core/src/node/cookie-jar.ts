/**
 * The few cookies one download needs, kept for the length of one request chain: some hosts
 * set a cookie on the confirmation page and expect it back (older Google Drive:
 * `download_warning_<…>=<token>`, with `confirm=<token>` added to the URL). Domain matching
 * only (host-only, or `Domain=` and its subdomains); path, expiry and Secure are ignored since
 * nothing outlives the chain.
 */
interface Cookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
}

export class CookieJar {
  private readonly cookies: Cookie[] = [];

  /** Records the `Set-Cookie` headers of a response to `url`. */
  store(url: URL, setCookie: readonly string[] | undefined): void {
    for (const header of setCookie ?? []) {
      const [pair = '', ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let domain = url.hostname;
      let hostOnly = true;
      let expired = false;
      for (const attr of attrs) {
        const [k = '', v = ''] = attr.split('=', 2).map((s) => s.trim());
        if (k.toLowerCase() === 'domain' && v) {
          const d = v.replace(/^\./, '').toLowerCase();
          // A cookie may only be set for the responding host or a parent domain of it.
          if (url.hostname !== d && !url.hostname.endsWith(`.${d}`)) continue;
          domain = d;
          hostOnly = false;
        } else if (k.toLowerCase() === 'max-age' && Number(v) <= 0) {
          expired = true;
        }
      }
      const at = this.cookies.findIndex((c) => c.name === name && c.domain === domain);
      if (at >= 0) this.cookies.splice(at, 1);
      if (!expired) this.cookies.push({ name, value, domain, hostOnly });
    }
  }

  /** The `Cookie` header for a request to `url`, or undefined when none applies. */
  header(url: URL): string | undefined {
    const host = url.hostname;
    const sent = this.cookies.filter((c) => c.domain === host || (!c.hostOnly && host.endsWith(`.${c.domain}`)));
    return sent.length === 0 ? undefined : sent.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** Value of the first cookie for `url` whose name starts with `prefix`. */
  find(url: URL, prefix: string): string | undefined {
    const host = url.hostname;
    return this.cookies.find((c) => c.name.startsWith(prefix) && (c.domain === host || (!c.hostOnly && host.endsWith(`.${c.domain}`))))?.value;
  }
}
