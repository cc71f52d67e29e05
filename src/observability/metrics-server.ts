import { createServer, type Server, type ServerResponse } from 'node:http';

/**
 * /metrics on a listener of its own (`metrics.port`), for an address that only the scraper
 * reaches: GET and HEAD of /metrics, nothing else, no CORS, no cookies, nothing cached.
 */
export interface MetricsServerSettings {
  host: string;
  port: number;
  render: () => Promise<string>;
  contentType: string;
}

export async function startMetricsServer(settings: MetricsServerSettings): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') return answer(response, 404, 'not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return answer(response, 405, 'method not allowed\n');
    }
    settings.render().then(
      (text) => answer(response, 200, request.method === 'HEAD' ? '' : text, settings.contentType),
      () => answer(response, 500, 'metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function answer(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(body);
}

export function stopMetricsServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // A scraper keeps its connection open between scrapes.
    server.closeAllConnections();
  });
}
