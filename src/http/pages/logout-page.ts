import { escapeHtml, hiddenInput, page } from './html.js';

export interface LogoutPageInput {
  action: string;
  csrfToken: string;
  clientName?: string;
  /** The client named by client_id or the id_token_hint: the POST checks post_logout_redirect_uri against it again. */
  clientId?: string;
  postLogoutRedirectUri?: string;
  state?: string;
  idTokenHint?: string;
}

/**
 * Asks before signing out (OpenID Connect RP-Initiated Logout 1.0 §2: the OP should confirm).
 * Posts `csrf` and, when given, `client_id`, `post_logout_redirect_uri`, `state` and `id_token_hint` back to `action`.
 */
export function renderLogoutPage(input: LogoutPageInput): string {
  const from = input.clientName ? ` You are leaving ${escapeHtml(input.clientName)}.` : '';
  const optional: [string, string | undefined][] = [
    ['client_id', input.clientId],
    ['post_logout_redirect_uri', input.postLogoutRedirectUri],
    ['state', input.state],
    ['id_token_hint', input.idTokenHint],
  ];
  return page(
    'Sign out?',
    `<h1>Sign out?</h1><p>Do you want to sign out?${from}</p>` +
      `<form method="post" action="${escapeHtml(input.action)}">` +
      hiddenInput('csrf', input.csrfToken) +
      optional.map(([name, value]) => (value === undefined ? '' : hiddenInput(name, value))).join('') +
      '<button type="submit">Sign out</button></form>',
  );
}

export function renderLoggedOutPage(): string {
  return page('Signed out', '<h1>Signed out</h1><p>You are signed out. You can close this window.</p>');
}
