import type { CookieSerializeOptions } from '@fastify/cookie';

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
