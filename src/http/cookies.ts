import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply } from 'fastify';
import type { OutcomeCookies } from '../oauth/authorize/outcome.js';

/** Cookies of the provider's own pages: HttpOnly, SameSite=Lax, Secure when the issuer is https, scoped to the issuer path. */
export function cookieOptions(issuer: string, maxAgeSeconds?: number): CookieSerializeOptions {
  const url = new URL(issuer);
  return {
    path: url.pathname || '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: url.protocol === 'https:',
    ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}),
  };
}

export const sessionCookie = 'dpop_oidc_session';
/** Holds the pending sign-in, sealed (src/oauth/authorize/interaction-seal.ts). */
export const interactionCookie = 'dpop_oidc_interaction';

/** Sets or clears the cookies a step of the browser flow asks for. */
export function applyOutcomeCookies(reply: FastifyReply, issuer: string, cookies: OutcomeCookies): void {
  if (cookies.session) reply.setCookie(sessionCookie, cookies.session.value, cookieOptions(issuer, cookies.session.maxAgeSeconds));
  if (cookies.interaction === 'clear') reply.clearCookie(interactionCookie, cookieOptions(issuer));
  else if (cookies.interaction)
    reply.setCookie(interactionCookie, cookies.interaction.value, cookieOptions(issuer, cookies.interaction.maxAgeSeconds));
}
