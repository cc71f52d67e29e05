import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { Session } from '../oauth/authorize/flow.js';
import type { ExpiringStore } from '../stores/ports.js';
import { hashOpaque } from '../tokens/opaque.js';

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
export const interactionCookie = 'dpop_oidc_interaction';

/** Reads the session named by the session cookie (stored under the cookie value's hash). */
export async function currentSession(request: FastifyRequest, sessions: ExpiringStore<Session>): Promise<Session | undefined> {
  const id = request.cookies[sessionCookie];
  return id ? sessions.get(hashOpaque(id)) : undefined;
}
