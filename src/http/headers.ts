import type { FastifyRequest } from 'fastify';

/**
 * Every value of a header field as received. Node joins some repeated fields with ", " and
 * silently drops repeats of others (Authorization among them), so the raw list is the only
 * way to see that a field came twice (RFC 9449 §4.3 check 1, §7.2).
 */
export function headerValues(request: FastifyRequest, name: string): string[] {
  const raw = request.raw.rawHeaders;
  const values: string[] = [];
  for (let index = 0; index < raw.length; index += 2) {
    if (raw[index]!.length === name.length && raw[index]!.toLowerCase() === name) values.push(raw[index + 1]!);
  }
  return values;
}
