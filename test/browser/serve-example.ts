import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const exampleRoot = fileURLToPath(new URL('../../examples/spa/', import.meta.url));
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
};

export interface ServedExample {
  origin: string;
  close: () => Promise<void>;
}

/**
 * Builds examples/spa with its own vite config (the code `npm run example:spa` serves) and
 * serves it statically on 127.0.0.1:port, with `/config.json` naming the test's provider.
 * Unknown paths get index.html, as the dev server does for /callback.
 */
export async function serveExample(port: number, config: { issuer: string; clientId: string; scope: string }): Promise<ServedExample> {
  const outDir = mkdtempSync(join(tmpdir(), 'spa-example-'));
  await build({
    root: exampleRoot,
    configFile: join(exampleRoot, 'vite.config.ts'),
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent((request.url ?? '/').split('?')[0] ?? '/'));
    if (path === '/config.json') {
      response.writeHead(200, { 'content-type': types['.json'] }).end(JSON.stringify(config));
      return;
    }
    let file = path.startsWith('/assets/') ? join(outDir, path) : join(outDir, 'index.html');
    if (!file.startsWith(outDir)) file = join(outDir, 'index.html');
    try {
      const body = readFileSync(file);
      response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://localhost:${port}`,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
