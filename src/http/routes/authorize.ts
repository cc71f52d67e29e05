import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClientRegistry, Client } from '../../oauth/clients.js';
import { nextAuthorizationStep, recordConsent, type AuthorizationFlowDeps, type NextStep, type Session } from '../../oauth/authorize/flow.js';
import { resumeInteraction, startInteraction, type Interaction } from '../../oauth/authorize/interaction.js';
import { authorizationResponseUrl, validateAuthorizationRequest } from '../../oauth/authorize/request.js';
import { OAuthError } from '../../oauth/errors.js';
import type { ExpiringStore } from '../../stores/ports.js';
import { hashOpaque, newOpaqueToken } from '../../tokens/opaque.js';
import type { UserDirectory } from '../../users/directory.js';
import { cookieOptions, currentSession, interactionCookie, sessionCookie } from '../cookies.js';
import { formBodySchema, type FormParams } from '../form.js';
import { renderConsentPage } from '../pages/consent-page.js';
import { renderLoginPage } from '../pages/login-page.js';
import { sendErrorPage, sendPage } from '../pages/send-page.js';

export interface AuthorizeRouteDeps {
  paths: { authorize: string; login: string; consent: string };
  issuer: string;
  clients: ClientRegistry;
  users: UserDirectory;
  sessions: ExpiringStore<Session>;
  interactions: ExpiringStore<Interaction>;
  flow: AuthorizationFlowDeps;
  sessionTtlSeconds: number;
  interactionTtlSeconds: number;
  /** Sign-in attempts per client address per minute, against password guessing. */
  loginAttemptsPerMinute: number;
  authorizeRequestsPerMinute: number;
}

/**
 * The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2) and the login and consent
 * forms it shows. No CORS here (RFC 9700 §2.6); pages cannot be framed (§4.16).
 */
export function registerAuthorizeRoutes(app: FastifyInstance, deps: AuthorizeRouteDeps): void {
  const interactionCookieOptions = cookieOptions(deps.issuer, deps.interactionTtlSeconds);

  const clientName = (client: Client) => client.client_name ?? client.client_id;

  async function respond(reply: FastifyReply, step: NextStep, client: Client, interaction: Interaction | undefined, request: Interaction['request'], sub: string | undefined) {
    if (step.kind === 'redirect') {
      if (interaction) {
        await deps.interactions.delete(interaction.id);
        reply.clearCookie(interactionCookie, cookieOptions(deps.issuer));
      }
      return reply.header('cache-control', 'no-store').redirect(step.url, 303);
    }
    const active = interaction ?? (await startInteraction(request, sub, { interactions: deps.interactions, ttlMs: deps.interactionTtlSeconds * 1000 }));
    reply.setCookie(interactionCookie, active.id, interactionCookieOptions);
    // The form's POST answers with a redirect to the client: form-action must allow its origin.
    const targets = [request.redirectUri];
    if (step.kind === 'login') {
      return sendPage(
        reply,
        200,
        renderLoginPage({
          action: deps.paths.login,
          interactionId: active.id,
          csrfToken: active.csrf,
          clientName: clientName(client),
          ...(request.loginHint ? { username: request.loginHint } : {}),
        }),
        targets,
      );
    }
    return sendPage(
      reply,
      200,
      renderConsentPage({
        action: deps.paths.consent,
        interactionId: active.id,
        csrfToken: active.csrf,
        clientName: clientName(client),
        scopes: request.scopes,
      }),
      targets,
    );
  }

  const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = (request.method === 'GET' ? request.query : request.body) as Record<string, unknown> | undefined;
    const result = validateAuthorizationRequest(params ?? {}, deps.clients);
    if (!result.ok) {
      if (!result.redirect) return sendErrorPage(reply, 400, result.error);
      request.oauthError = result.error;
      const url = authorizationResponseUrl(result.redirect.uri, deps.issuer, result.redirect.state, { error: result.error });
      return reply.header('cache-control', 'no-store').redirect(url, 303);
    }
    const session = await currentSession(request, deps.sessions);
    const step = await nextAuthorizationStep(
      { request: result.request, client: result.client, session, fresh: { login: false, consent: false } },
      deps.flow,
    );
    return respond(reply, step, result.client, undefined, result.request, session?.sub);
  };
  // Each authorization request may start a pending sign-in: limited per client address, GET
  // and POST together. One limiter for both routes: a route-level rateLimit config gets its own
  // counter per route (groupId does not share the in-memory store across routes).
  const authorizeLimit = app.rateLimit({
    groupId: 'authorize',
    max: deps.authorizeRequestsPerMinute,
    timeWindow: 60_000,
    errorResponseBuilder: () =>
      new OAuthError('temporarily_unavailable', 'too many requests; wait a minute and try again', { status: 429, reason: 'rate_limit' }),
  });
  const authorizeConfig = { htmlErrors: true };
  app.get(deps.paths.authorize, { config: authorizeConfig, onRequest: authorizeLimit }, authorize);
  app.post(deps.paths.authorize, { schema: { body: { type: 'object' } }, config: authorizeConfig, onRequest: authorizeLimit }, authorize);

  const expired = new OAuthError('invalid_request', 'this sign-in request has expired or is invalid; start again from the application', {
    reason: 'interaction',
  });

  const loginOptions = {
    schema: { body: formBodySchema() },
    config: {
      htmlErrors: true,
      rateLimit: {
        max: deps.loginAttemptsPerMinute,
        timeWindow: 60_000,
        errorResponseBuilder: () =>
          new OAuthError('temporarily_unavailable', 'too many sign-in attempts; wait a minute and try again', {
            status: 429,
            reason: 'rate_limit',
          }),
      },
    },
  };
  app.post<{ Body: FormParams }>(deps.paths.login, loginOptions, async (request, reply) => {
    const interaction = await resumeInteraction(request.body, request.cookies[interactionCookie], deps.interactions);
    if (!interaction) return sendErrorPage(reply, 400, expired);
    const client = deps.clients.find(interaction.request.clientId);
    if (!client) return sendErrorPage(reply, 400, expired);
    const user = await deps.users.authenticate(request.body.username ?? '', request.body.password ?? '');
    if (!user) {
      request.refusalReason = 'login_failed';
      // One message for both a wrong username and a wrong password.
      return sendPage(
        reply,
        401,
        renderLoginPage({
          action: deps.paths.login,
          interactionId: interaction.id,
          csrfToken: interaction.csrf,
          clientName: clientName(client),
          username: request.body.username ?? '',
          error: 'Wrong username or password.',
        }),
        [interaction.request.redirectUri],
      );
    }
    const sessionId = newOpaqueToken();
    const session: Session = { id: hashOpaque(sessionId), sub: user.sub, authTime: Math.floor(deps.flow.clock() / 1000) };
    await deps.sessions.set(session.id, session, deps.sessionTtlSeconds * 1000);
    reply.setCookie(sessionCookie, sessionId, cookieOptions(deps.issuer, deps.sessionTtlSeconds));
    interaction.sub = user.sub;
    interaction.fresh.login = true;
    await deps.interactions.set(interaction.id, interaction, deps.interactionTtlSeconds * 1000);
    const step = await nextAuthorizationStep({ request: interaction.request, client, session, fresh: interaction.fresh }, deps.flow);
    return respond(reply, step, client, interaction, interaction.request, user.sub);
  });

  app.post<{ Body: FormParams }>(deps.paths.consent, { schema: { body: formBodySchema() }, config: { htmlErrors: true } }, async (request, reply) => {
    const interaction = await resumeInteraction(request.body, request.cookies[interactionCookie], deps.interactions);
    const session = await currentSession(request, deps.sessions);
    const client = interaction && deps.clients.find(interaction.request.clientId);
    // The consent must come from the user the interaction is for, still signed in.
    if (!interaction || !client || !session || session.sub !== interaction.sub) return sendErrorPage(reply, 400, expired);
    const { request: authorization } = interaction;
    if (request.body.decision !== 'allow') {
      await deps.interactions.delete(interaction.id);
      reply.clearCookie(interactionCookie, cookieOptions(deps.issuer));
      const url = authorizationResponseUrl(authorization.redirectUri, deps.issuer, authorization.state, {
        error: new OAuthError('access_denied', 'the user denied the request'),
      });
      return reply.header('cache-control', 'no-store').redirect(url, 303);
    }
    await recordConsent(session.sub, client.client_id, authorization.scopes, deps.flow);
    interaction.fresh.consent = true;
    const step = await nextAuthorizationStep({ request: authorization, client, session, fresh: interaction.fresh }, deps.flow);
    return respond(reply, step, client, interaction, authorization, session.sub);
  });
}
