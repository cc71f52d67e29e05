import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { renderConsentPage } from '../../src/http/pages/consent-page.js';
import { renderErrorPage } from '../../src/http/pages/error-page.js';
import { escapeHtml, page, pageSecurityHeaders, pageStyle, pageStyleHash } from '../../src/http/pages/html.js';
import { renderLoginPage } from '../../src/http/pages/login-page.js';
import { renderLoggedOutPage, renderLogoutPage } from '../../src/http/pages/logout-page.js';

const evil = `"><script>alert('x')</script>`;
const escapedEvil = '&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;';

const login = { action: '/oidc/interaction/login', interactionId: 'int-1', csrfToken: 'csrf-1', clientName: 'Demo' };
const consent = {
  action: '/oidc/interaction/consent',
  interactionId: 'int-1',
  csrfToken: 'csrf-1',
  clientName: 'Demo',
  scopes: ['openid'],
};
const logout = { action: '/oidc/logout', csrfToken: 'csrf-1' };

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${name}" value="${value}">`;
}

/** Renders with `evil` in one field at a time; the raw value must never appear. */
function expectEscaped(html: string): void {
  expect(html).not.toContain(evil);
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain(escapedEvil);
}

describe('escapeHtml', () => {
  it('escapes & < > " and \'', () => {
    expect(escapeHtml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&#39;f');
  });
});

describe('escaping of every interpolated field', () => {
  it.each(['action', 'interactionId', 'csrfToken', 'clientName', 'username', 'error'] as const)('login page: %s', (field) => {
    expectEscaped(renderLoginPage({ ...login, [field]: evil }));
  });

  it.each(['action', 'interactionId', 'csrfToken', 'clientName'] as const)('consent page: %s', (field) => {
    expectEscaped(renderConsentPage({ ...consent, [field]: evil }));
  });

  it('consent page: a scope', () => {
    expectEscaped(renderConsentPage({ ...consent, scopes: ['openid', evil] }));
  });

  it.each(['title', 'error', 'description'] as const)('error page: %s', (field) => {
    expectEscaped(renderErrorPage({ title: 'Error', error: 'invalid_request', description: 'Bad.', [field]: evil }));
  });

  it.each(['action', 'csrfToken', 'clientName', 'clientId', 'postLogoutRedirectUri', 'state', 'idTokenHint'] as const)(
    'logout page: %s',
    (field) => {
      expectEscaped(renderLogoutPage({ ...logout, [field]: evil }));
    },
  );

  it('layout: title', () => {
    expectEscaped(page(evil, ''));
  });
});

describe('login page', () => {
  it('posts the hidden interaction and csrf inputs with username and password to the action', () => {
    const html = renderLoginPage(login);
    expect(html).toContain('<form method="post" action="/oidc/interaction/login">');
    expect(html).toContain(hidden('interaction', 'int-1'));
    expect(html).toContain(hidden('csrf', 'csrf-1'));
    expect(html).toMatch(/<input id="username" name="username" type="text" autocomplete="username"[^>]* value="">/);
    expect(html).toContain('<input id="password" name="password" type="password" autocomplete="current-password" required>');
    expect(html).toContain('<button type="submit">Sign in</button>');
    expect(html).not.toContain('role="alert"');
  });

  it('shows an error in a role="alert" element and keeps the username', () => {
    const html = renderLoginPage({ ...login, username: 'alice', error: 'Wrong username or password.' });
    expect(html).toContain('<p class="error" role="alert">Wrong username or password.</p>');
    expect(html).toContain('value="alice"');
  });
});

describe('consent page', () => {
  it('describes known scopes, shows others as they are, and offers allow and deny as decision', () => {
    const html = renderConsentPage({ ...consent, scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read'] });
    for (const text of [
      'Sign you in',
      'Your name and profile details',
      'Your email address',
      'Stay signed in (keep access when you are away)',
      '<li>api:read</li>',
    ]) {
      expect(html).toContain(text);
    }
    expect(html).toContain(hidden('interaction', 'int-1'));
    expect(html).toContain(hidden('csrf', 'csrf-1'));
    expect(html).toContain('<button type="submit" name="decision" value="allow">');
    expect(html).toContain('<button type="submit" name="decision" value="deny">');
  });

  it('shows a scope named like an Object.prototype member as it is', () => {
    expect(renderConsentPage({ ...consent, scopes: ['constructor'] })).toContain('<li>constructor</li>');
  });
});

describe('logout pages', () => {
  it('posts csrf and the RP-Initiated Logout parameters back under their protocol names', () => {
    const html = renderLogoutPage({
      ...logout,
      clientName: 'Demo',
      clientId: 'demo',
      postLogoutRedirectUri: 'https://rp.example.com/bye',
      state: 's1',
      idTokenHint: 'eyJ.x.y',
    });
    expect(html).toContain('Sign out?');
    expect(html).toContain('<form method="post" action="/oidc/logout">');
    expect(html).toContain(hidden('csrf', 'csrf-1'));
    expect(html).toContain(hidden('client_id', 'demo'));
    expect(html).toContain(hidden('post_logout_redirect_uri', 'https://rp.example.com/bye'));
    expect(html).toContain(hidden('state', 's1'));
    expect(html).toContain(hidden('id_token_hint', 'eyJ.x.y'));
  });

  it('leaves out the optional hidden inputs that were not given', () => {
    const html = renderLogoutPage(logout);
    expect(html.match(/type="hidden"/g)).toHaveLength(1);
  });

  it('the signed-out page says so', () => {
    expect(renderLoggedOutPage()).toContain('You are signed out');
  });
});

describe('no scripts and the one style element', () => {
  const pages = {
    login: renderLoginPage({ ...login, username: 'alice', error: 'Wrong username or password.' }),
    consent: renderConsentPage({ ...consent, scopes: ['openid', 'profile', 'x'] }),
    error: renderErrorPage({ title: 'Error', error: 'invalid_request', description: 'Bad.' }),
    logout: renderLogoutPage({
      ...logout,
      clientName: 'Demo',
      postLogoutRedirectUri: 'https://rp.example.com',
      state: 's',
      idTokenHint: 't',
    }),
    loggedOut: renderLoggedOutPage(),
  };

  it.each(Object.entries(pages))('%s page has no <script, no inline style or event handler, and the constant <style>', (_name, html) => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html).toContain(`<style>${pageStyle}</style>`);
  });
});

describe('pageSecurityHeaders', () => {
  it('pageStyleHash is sha256- and the base64 SHA-256 of pageStyle', () => {
    expect(pageStyleHash).toBe(`sha256-${createHash('sha256').update(pageStyle).digest('base64')}`);
  });

  it('sends the CSP and the framing, sniffing, referrer and caching headers', () => {
    expect(pageSecurityHeaders()).toEqual({
      'content-security-policy': `default-src 'none'; style-src '${pageStyleHash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
  });

  it('adds the origins of form targets to form-action, since Chromium checks the redirect after the POST', () => {
    const csp = pageSecurityHeaders([
      'https://rp.example.com/callback?x=1',
      'https://rp.example.com/other',
      'http://localhost:3000/cb',
      'com.example.app:/oauth2redirect',
    ])['content-security-policy'];
    expect(csp).toContain("form-action 'self' https://rp.example.com http://localhost:3000 com.example.app:;");
  });

  it('refuses a form target that is not a URL, so nothing can be smuggled into the header', () => {
    expect(() => pageSecurityHeaders(["'unsafe-inline'; script-src *"])).toThrow(TypeError);
  });
});
