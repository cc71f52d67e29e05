import { isIP } from 'node:net';
import { z } from 'zod';

/** Hosts that reach only this machine: http there is not exposed to the network. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** The public issuer URL: http(s), no query or fragment, kept without a trailing slash so `${issuer}/token` is the endpoint URL. */
export const issuerUrl = z
  .string()
  .url()
  .refine((value) => {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash;
  }, 'must be an http(s) URL without query or fragment')
  // An overwrite (not a transform) keeps the type a string, so the reference shows its default.
  .overwrite((value) => value.replace(/\/+$/, ''));

const redirectLoopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Schemes that run or embed content in the browser instead of reaching a client. */
const scriptSchemes = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:']);
/** RFC 8252 §7.1: a native app's private-use scheme is a reverse domain name it controls, e.g. com.example.app. */
const privateUseScheme = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+:$/;
const allowedRedirectSchemes =
  'https, http on a loopback host (localhost, 127.0.0.1, [::1]), or a private-use scheme such as com.example.app:/callback (RFC 8252 §7.1)';

/**
 * A redirect target the provider sends a browser to (redirect_uris, post_logout_redirect_uris):
 * https, http only on loopback (RFC 8252 §7.3, RFC 9700 §2.6), or a native app's private-use
 * scheme (RFC 8252 §7.1). Never a fragment (RFC 6749 §3.1.2) nor userinfo, which makes a
 * registered URI look like another host. Values are kept as written: requests compare exactly.
 */
export const redirectUri = z.string().superRefine((value, ctx) => {
  if (!URL.canParse(value)) {
    ctx.addIssue({ code: 'custom', message: `must be an absolute URI; use ${allowedRedirectSchemes}` });
    return;
  }
  const url = new URL(value);
  const scheme = url.protocol;
  if (scriptSchemes.has(scheme)) {
    ctx.addIssue({ code: 'custom', message: `the ${scheme} scheme is never allowed; use ${allowedRedirectSchemes}` });
  } else if (scheme === 'http:' && !redirectLoopbackHosts.has(url.hostname)) {
    ctx.addIssue({ code: 'custom', message: `http is allowed only on a loopback host (localhost, 127.0.0.1, [::1]); use https` });
  } else if (scheme !== 'https:' && scheme !== 'http:' && !privateUseScheme.test(scheme)) {
    ctx.addIssue({ code: 'custom', message: `the ${scheme} scheme is not allowed; use ${allowedRedirectSchemes}` });
  }
  if (value.includes('#')) ctx.addIssue({ code: 'custom', message: 'must not have a fragment (RFC 6749 §3.1.2)' });
  if (url.username || url.password || /^[^:/?#]+:\/\/[^/?#]*@/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'must not have user information (user@host)' });
  }
});

/** A browser origin as the Origin header carries it, compared exactly: scheme://host[:port], no path. */
export const corsOrigin = z.string().refine((value) => {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
}, 'must be an origin, scheme://host[:port] in lower case with no path, query or trailing slash, e.g. https://app.example.com');
