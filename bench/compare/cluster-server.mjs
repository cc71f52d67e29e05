/**
 * Several dpop-oidc processes behind one port (node:cluster: the primary hands each new
 * connection to the next worker), for the benchmark's scaling scenario. Each worker runs
 * dist/main.js with the same environment; they share state through STORE=redis.
 *   BENCH_WORKERS=2 BENCH_PIDS_FILE=/tmp/pids.json node bench/compare/cluster-server.mjs
 * Writes the workers' pids as JSON to BENCH_PIDS_FILE once every worker listens. A worker that
 * exits stops the whole group: the benchmark must not measure fewer processes than it reports.
 */
import cluster from 'node:cluster';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const workers = Number(process.env.BENCH_WORKERS ?? 2);
const pidsFile = process.env.BENCH_PIDS_FILE;
let stopping = false;

cluster.setupPrimary({ exec: fileURLToPath(new URL('../../dist/main.js', import.meta.url)) });
const listening = new Set();
for (let index = 0; index < workers; index++) cluster.fork();
cluster.on('listening', (worker) => {
  listening.add(worker.process.pid);
  if (listening.size === workers && pidsFile) writeFileSync(pidsFile, JSON.stringify([...listening]));
});
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) {
    process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); stopping\n`);
    stop(1);
  } else if (Object.keys(cluster.workers ?? {}).length === 0) {
    process.exit(0);
  }
});

function stop(status) {
  stopping = true;
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  setTimeout(() => process.exit(status), 5000).unref();
  if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(status);
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
