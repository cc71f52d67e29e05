import { escapeHtml, page } from './html.js';

export interface ErrorPageInput {
  title: string;
  /** The OAuth error code, such as invalid_request. */
  error: string;
  description: string;
}

/** For errors that cannot go back to the client, such as an unknown client or redirect_uri (RFC 6749 §4.1.2.1). */
export function renderErrorPage(input: ErrorPageInput): string {
  return page(
    input.title,
    `<h1>${escapeHtml(input.title)}</h1><p>${escapeHtml(input.description)}</p>` + `<p>Error: <code>${escapeHtml(input.error)}</code></p>`,
  );
}
