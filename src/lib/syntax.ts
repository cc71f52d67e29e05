/** `token68` (RFC 7235 §2.1): the syntax of DPoP proofs and access tokens in headers. */
export const token68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
