/** A request's answer as the self-check needs it: status, headers, the OAuth error if any. */
export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  /** `error` from the JSON body, or from `WWW-Authenticate` at a protected resource. */
  error?: string;
  description?: string;
}

export class Unreachable extends Error {}

export async function send(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new Unreachable(`cannot reach ${url}: ${why}`);
  }
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (an HTML error page from a proxy, say): the status says enough.
  }
  const challenge = response.headers.get('www-authenticate') ?? '';
  const error = typeof body.error === 'string' ? body.error : /error="([^"]*)"/.exec(challenge)?.[1];
  const description =
    typeof body.error_description === 'string' ? body.error_description : /error_description="([^"]*)"/.exec(challenge)?.[1];
  return { status: response.status, headers: response.headers, body, ...(error ? { error } : {}), ...(description ? { description } : {}) };
}

export function summary(answer: Answer): string {
  return `${answer.status}${answer.error ? ` ${answer.error}` : ''}${answer.description ? `: ${answer.description}` : ''}`;
}
