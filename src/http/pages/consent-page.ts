import { escapeHtml, hiddenInput, page } from './html.js';

export interface ConsentPageInput {
  action: string;
  interactionId: string;
  csrfToken: string;
  clientName: string;
  scopes: readonly string[];
}

/** What each scope means to the person asked; a scope not listed is shown as it is. */
export const scopeDescriptions: Readonly<Record<string, string>> = {
  openid: 'Sign you in',
  profile: 'Your name and profile details',
  email: 'Your email address',
  address: 'Your postal address',
  phone: 'Your phone number',
  offline_access: 'Stay signed in (keep access when you are away)',
};

export function describeScope(scope: string): string {
  return Object.hasOwn(scopeDescriptions, scope) ? scopeDescriptions[scope]! : scope;
}

/** Posts `interaction`, `csrf` and `decision` (`allow` or `deny`) to `action`. */
export function renderConsentPage(input: ConsentPageInput): string {
  const items = input.scopes.map((scope) => `<li>${escapeHtml(describeScope(scope))}</li>`).join('');
  return page(
    'Allow access?',
    `<h1>Allow access?</h1><p>${escapeHtml(input.clientName)} asks to:</p><ul>${items}</ul>` +
      `<form method="post" action="${escapeHtml(input.action)}">` +
      hiddenInput('interaction', input.interactionId) +
      hiddenInput('csrf', input.csrfToken) +
      '<button type="submit" name="decision" value="allow">Allow</button>' +
      '<button type="submit" name="decision" value="deny">Deny</button></form>',
  );
}
