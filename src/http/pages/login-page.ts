import { escapeHtml, hiddenInput, page } from './html.js';

export interface LoginPageInput {
  /** Where the form posts to. */
  action: string;
  interactionId: string;
  csrfToken: string;
  clientName: string;
  /** Filled in again after a failed attempt. */
  username?: string;
  /** Shown as an alert; never say whether the username or the password was wrong. */
  error?: string;
}

/** Posts `interaction`, `csrf`, `username` and `password` to `action`. */
export function renderLoginPage(input: LoginPageInput): string {
  const alert = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : '';
  return page(
    'Sign in',
    `<h1>Sign in</h1><p>to continue to ${escapeHtml(input.clientName)}</p>${alert}` +
      `<form method="post" action="${escapeHtml(input.action)}">` +
      hiddenInput('interaction', input.interactionId) +
      hiddenInput('csrf', input.csrfToken) +
      '<label for="username">Username</label>' +
      `<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${escapeHtml(input.username ?? '')}">` +
      '<label for="password">Password</label>' +
      '<input id="password" name="password" type="password" autocomplete="current-password" required>' +
      '<button type="submit">Sign in</button></form>',
  );
}
