import { OAuthError, type OAuthErrorCode, type OAuthErrorOptions } from '../lib/oauth-error.js';

/**
 * A refusal of the HTTP layer itself (no route, a method the path lacks, a body too large or of
 * an unknown type, a request the parser refused): an OAuth error whose status is an HTTP fact,
 * not a protocol decision (RFC 9110 §15.5). Protocol errors carry no status; the error handler
 * derives theirs from the code and the kind of route.
 */
export class HttpRefusal extends OAuthError {
  constructor(
    readonly httpStatus: number,
    code: OAuthErrorCode,
    description: string,
    options: OAuthErrorOptions = {},
  ) {
    super(code, description, options);
  }
}
