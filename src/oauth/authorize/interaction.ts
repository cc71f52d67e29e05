import { constantTimeEqual } from '../../lib/constant-time.js';
import { newOpaqueToken } from '../../tokens/opaque.js';
import { maxSealedLength, type InteractionSeal } from './interaction-seal.js';
import type { AuthorizationRequest } from './request.js';

/**
 * A pending authorization request while the user signs in or consents. The browser holds it,
 * sealed, in a cookie; the server holds nothing until the sign-in ends (then only a marker that
 * it ended). The page's form carries its id and CSRF token: a POST must present both, with the
 * cookie from the same browser, before the interaction expires.
 */
export interface Interaction {
  id: string;
  csrf: string;
  /** Fixed when the request arrives and never extended: sign-in and consent together have this long. */
  expiresAtMs: number;
  request: AuthorizationRequest;
  /** The user who signed in during this interaction, or whose session it continues. */
  sub: string | undefined;
  fresh: { login: boolean; consent: boolean };
}

export interface InteractionDeps {
  seal: InteractionSeal;
  clock: () => number;
}

export function newInteraction(request: AuthorizationRequest, sub: string | undefined, nowMs: number, ttlMs: number): Interaction {
  return {
    id: newOpaqueToken(16),
    csrf: newOpaqueToken(16),
    expiresAtMs: nowMs + ttlMs,
    request,
    sub,
    fresh: { login: false, consent: false },
  };
}

/** The cookie value, or undefined when it would be too long for a browser to keep (RFC 6265 §6.1). */
export function sealInteraction(interaction: Interaction, seal: InteractionSeal): string | undefined {
  const sealed = seal.seal(JSON.stringify(interaction));
  return sealed.length <= maxSealedLength ? sealed : undefined;
}

/** The interaction named by the form, when the cookie opens, names it, matches its CSRF token and has not expired. */
export function resumeInteraction(
  form: { interaction?: string | undefined; csrf?: string | undefined },
  cookie: string | undefined,
  deps: InteractionDeps,
): Interaction | undefined {
  if (!form.interaction || !form.csrf || !cookie) return undefined;
  const opened = deps.seal.open(cookie);
  if (opened === undefined) return undefined;
  const interaction = JSON.parse(opened) as Interaction;
  if (!constantTimeEqual(interaction.id, form.interaction) || !constantTimeEqual(interaction.csrf, form.csrf)) return undefined;
  if (interaction.expiresAtMs <= deps.clock()) return undefined;
  return interaction;
}
