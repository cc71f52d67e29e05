/** HTTP/1.1 over keep-alive connections to 127.0.0.1, and a cookie jar for driving sign-in forms. */
import { Agent, request, type RequestOptions } from 'node:http';

export interface Call {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A pool of at most `connections` kept-alive sockets to one port. */
export class Connections {
  readonly agent: Agent;

  constructor(
    readonly port: number,
    connections: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  private options(call: Call, timeoutMs: number): RequestOptions {
    return {
      host: '127.0.0.1',
      port: this.port,
      method: call.method,
      path: call.path,
      headers: call.headers,
      agent: this.agent,
      timeout: timeoutMs,
    };
  }

  /** Sends and reads the whole answer. */
  send(call: Call, timeoutMs = 30_000): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(this.options(call, timeoutMs), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(call.body);
    });
  }

  /** Sends and only counts: the status, or 0 when the request failed without one. Never throws. */
  sendForStatus(call: Call, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve) => {
      const req = request(this.options(call, timeoutMs), (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
      req.end(call.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Cookies by name, as a browser on one host keeps them (paths are not needed here). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  header(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') } : {};
  }

  update(setCookie: string | string[] | undefined): void {
    for (const line of typeof setCookie === 'string' ? [setCookie] : (setCookie ?? [])) {
      const [pair, ...attributes] = line.split(';');
      const separator = pair!.indexOf('=');
      if (separator <= 0) continue;
      const name = pair!.slice(0, separator).trim();
      const value = pair!.slice(separator + 1).trim();
      const expired =
        value === '' ||
        attributes.some((attribute) => {
          const [key, raw] = attribute.split('=').map((part) => part.trim());
          if (key?.toLowerCase() === 'max-age') return Number(raw) <= 0;
          if (key?.toLowerCase() === 'expires') return Date.parse(raw ?? '') <= Date.now();
          return false;
        });
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x2F;/gi, '/')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The first POST form of a page: its action and hidden fields. */
export function readForm(html: string): { action: string; hidden: Record<string, string> } | undefined {
  const form = /<form\b[^>]*>/i.exec(html)?.[0];
  if (!form || !/method="post"/i.test(form)) return undefined;
  const action = /action="([^"]*)"/i.exec(form)?.[1];
  if (action === undefined) return undefined;
  const hidden: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\s*\/?>/g)) {
    hidden[decodeEntities(match[1]!)] = decodeEntities(match[2]!);
  }
  return { action: decodeEntities(action), hidden };
}

/** Form-encodes fields. */
export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' } as const;

export function basicAuthorization(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}
