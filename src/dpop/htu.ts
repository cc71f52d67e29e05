/**
 * RFC 9449 §4.3 check 9: `htu` is compared with the request URI ignoring query and fragment,
 * after RFC 3986 §6.2.2 (syntax-based) and §6.2.3 (scheme-based) normalisation. The WHATWG
 * URL parser lower-cases scheme and host, drops default ports, resolves dot segments and
 * gives an empty path "/"; on top of that, percent-encodings get upper-case hex digits and
 * encoded unreserved characters are decoded.
 */
const unreserved = /^[A-Za-z0-9\-._~]$/;

function normalizePercentEncoding(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return unreserved.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/** The normalised form of an http(s) URL without query and fragment, or null when it is not one. */
export function normalizeHtu(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password) return null;
  return `${url.protocol}//${url.host}${normalizePercentEncoding(url.pathname)}`;
}
