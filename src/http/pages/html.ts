import { createHash } from 'node:crypto';

/**
 * The HTML building blocks every page shares. Pages are pure functions returning a string;
 * every interpolated value goes through `escapeHtml`, and attribute values are always
 * double-quoted. No page has a script: they work without JavaScript, and the CSP forbids it.
 */

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in element content and in double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => entities[character] ?? character);
}

/**
 * The one stylesheet, a constant so its CSP hash is computed once. It goes in a `<style>`
 * element: `style=""` attributes would need 'unsafe-inline' and are never used.
 */
export const pageStyle =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}' +
  'main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}' +
  'h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.75rem 0 .25rem}' +
  'input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit}' +
  'button{font:inherit;padding:.5rem 1rem;margin:1rem .5rem 0 0;cursor:pointer}' +
  '.error{color:#b91c1c;background:#fef2f2;padding:.5rem;border-radius:.25rem}code{word-break:break-all}';

/** CSP hash-source of `pageStyle` (CSP Level 3 §2.3.1: base64 of the SHA-256 of the element's text). */
export const pageStyleHash = `sha256-${createHash('sha256').update(pageStyle, 'utf8').digest('base64')}`;

/** The layout. `title` is text (escaped here); `body` is HTML the page built with `escapeHtml`. */
export function page(title: string, body: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(title)}</title><style>${pageStyle}</style></head>` +
    `<body><main>${body}</main></body></html>`
  );
}

export function hiddenInput(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

/** A CSP source for a form target: the origin of an http(s) URL, or the scheme of a native app's private-use URI (RFC 8252 §7.1). */
function formActionSource(target: string): string {
  const url = new URL(target);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : url.protocol;
}

/**
 * Headers for every HTML page. `formTargets` are URLs the form's POST may end up at:
 * Chromium applies form-action to the redirect that follows the POST too, so the authorize
 * flow passes the client's redirect_uri and logout the post_logout_redirect_uri, or the browser
 * would refuse the 303 back to the client. Only their origins (or schemes) are used; a value
 * that is not a URL throws TypeError.
 */
export function pageSecurityHeaders(formTargets: readonly string[] = []): Record<string, string> {
  const formAction = ["'self'", ...new Set(formTargets.map(formActionSource))].join(' ');
  return {
    'content-security-policy': `default-src 'none'; style-src '${pageStyleHash}'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
}
