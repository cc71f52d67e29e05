import type { ExpiringStore } from '../../stores/ports.js';
import { newOpaqueToken } from '../../tokens/opaque.js';
import type { AuthorizationRequest } from './request.js';
import { constantTimeEqual } from '../../lib/constant-time.js';

/**
 * A pending authorization request while the user signs in or consents. The browser holds its
 * id in a cookie and the page's form carries the id and a CSRF token: a POST must present both,
 * from the same browser, before the interaction expires.
 */
export interface Interaction {
  id: string;
  csrf: string;
  request: AuthorizationRequest;
  /** The user who signed in during this interaction, or whose session it continues. */
  sub: string | undefined;
  fresh: { login: boolean; consent: boolean };
}

export async function startInteraction(
  request: AuthorizationRequest,
  sub: string | undefined,
  deps: { interactions: ExpiringStore<Interaction>; ttlMs: number },
): Promise<Interaction> {
  const interaction: Interaction = {
    id: newOpaqueToken(16),
    csrf: newOpaqueToken(16),
    request,
    sub,
    fresh: { login: false, consent: false },
  };
  await deps.interactions.set(interaction.id, interaction, deps.ttlMs);
  return interaction;
}

/** The interaction named by the form, when the cookie and the CSRF token both match it. */
export async function resumeInteraction(
  form: { interaction?: string | undefined; csrf?: string | undefined },
  cookie: string | undefined,
  interactions: ExpiringStore<Interaction>,
): Promise<Interaction | undefined> {
  if (!form.interaction || !form.csrf || !cookie || !constantTimeEqual(form.interaction, cookie)) return undefined;
  const interaction = await interactions.get(form.interaction);
  if (!interaction || !constantTimeEqual(interaction.csrf, form.csrf)) return undefined;
  return interaction;
}
