import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationOutcome } from '../../oauth/authorize/outcome.js';
import type { ConsentForm } from '../../oauth/consent.js';
import { tooManyRequests } from '../../lib/oauth-error.js';
import type { SignInForm } from '../../oauth/sign-in.js';
import { applyOutcomeCookies, interactionCookie, sessionCookie } from '../cookies.js';
import { formBodySchema, type FormParams } from '../form.js';
import { renderConsentPage } from '../pages/consent-page.js';
import { renderLoginPage } from '../pages/login-page.js';
import { sendPage } from '../pages/send-page.js';

export interface BrowserCookies {
  interaction: string | undefined;
  session: string | undefined;
}

export interface AuthorizeRouteDeps {
  paths: { authorize: string; login: string; consent: string };
  issuer: string;
  authorize: (params: Readonly<Record<string, unknown>>, cookies: BrowserCookies) => Promise<AuthorizationOutcome>;
  signIn: (form: SignInForm, cookies: BrowserCookies) => Promise<AuthorizationOutcome>;
  consent: (form: ConsentForm, cookies: BrowserCookies) => Promise<AuthorizationOutcome>;
  /** Sign-in attempts per client address per minute, against password guessing. */
  loginAttemptsPerMinute: number;
  authorizeRequestsPerMinute: number;
}

/**
 * The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2) and the login and consent
 * forms it shows. No CORS here (RFC 9700 §2.6); pages cannot be framed (§4.16).
 */
export function registerAuthorizeRoutes(app: FastifyInstance, deps: AuthorizeRouteDeps): void {
  const cookiesOf = (request: FastifyRequest): BrowserCookies => ({
    interaction: request.cookies[interactionCookie],
    session: request.cookies[sessionCookie],
  });

  const render = (reply: FastifyReply, outcome: AuthorizationOutcome) => {
    applyOutcomeCookies(reply, deps.issuer, outcome.cookies);
    // Rendered at the edge like every refusal: a page, since these are browser routes (htmlErrors).
    if (outcome.kind === 'refused') throw outcome.error;
    if (outcome.kind === 'redirect') {
      // Logged in the request's line (src/observability/request-log.ts).
      if (outcome.error) reply.request.oauthError = outcome.error;
      return reply.header('cache-control', 'no-store').redirect(outcome.url, 303);
    }
    const { view } = outcome;
    if (outcome.loginFailed) reply.request.refusalReason = 'login_failed';
    const html =
      outcome.page === 'login'
        ? renderLoginPage({
            action: deps.paths.login,
            interactionId: view.interactionId,
            csrfToken: view.csrf,
            clientName: view.clientName,
            ...(view.username !== undefined ? { username: view.username } : {}),
            // One message for both a wrong username and a wrong password.
            ...(outcome.loginFailed ? { error: 'Wrong username or password.' } : {}),
          })
        : renderConsentPage({
            action: deps.paths.consent,
            interactionId: view.interactionId,
            csrfToken: view.csrf,
            clientName: view.clientName,
            scopes: view.scopes,
          });
    // The form's POST answers with a redirect to the client: form-action must allow its origin.
    return sendPage(reply, outcome.loginFailed ? 401 : 200, html, [view.redirectUri]);
  };

  const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = (request.method === 'GET' ? request.query : request.body) as Record<string, unknown> | undefined;
    return render(reply, await deps.authorize(params ?? {}, cookiesOf(request)));
  };
  // Each authorization request may start a pending sign-in: limited per client address, GET
  // and POST together. One limiter for both routes: a route-level rateLimit config gets its own
  // counter per route (groupId does not share the in-memory store across routes).
  const authorizeLimit = app.rateLimit({
    groupId: 'authorize',
    max: deps.authorizeRequestsPerMinute,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) =>
      tooManyRequests('too many requests; wait a minute and try again', 'rate_limit', context.ttl / 1000),
  });
  const authorizeConfig = { htmlErrors: true };
  app.get(deps.paths.authorize, { config: authorizeConfig, onRequest: authorizeLimit }, authorize);
  app.post(deps.paths.authorize, { schema: { body: { type: 'object' } }, config: authorizeConfig, onRequest: authorizeLimit }, authorize);

  const loginOptions = {
    schema: { body: formBodySchema() },
    config: {
      htmlErrors: true,
      rateLimit: {
        max: deps.loginAttemptsPerMinute,
        timeWindow: 60_000,
        errorResponseBuilder: (_request: unknown, context: { ttl: number }) =>
          tooManyRequests('too many sign-in attempts; wait a minute and try again', 'rate_limit', context.ttl / 1000),
      },
    },
  };
  app.post<{ Body: FormParams }>(deps.paths.login, loginOptions, async (request, reply) =>
    render(reply, await deps.signIn(request.body, cookiesOf(request))),
  );
  app.post<{ Body: FormParams }>(
    deps.paths.consent,
    { schema: { body: formBodySchema() }, config: { htmlErrors: true } },
    async (request, reply) => render(reply, await deps.consent(request.body, cookiesOf(request))),
  );
}
