/**
 * Side-by-side benchmark of dpop-oidc and node-oidc-provider, configured alike, on one machine:
 *   npm run bench:compare                      # builds, runs everything, writes docs/performance.md
 *   npm run bench:compare -- --requests 300 --no-write --no-scaling    # a quick check
 * Options: --requests N per round (4000), --rounds R (3), --connections C (32), --time-cap S per
 * round (45), --only TEXT (scenarios whose name holds it), --no-scaling, --no-write.
 * Bounded: fixed counts and a time cap per round, servers on 127.0.0.1 only, all stopped at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { signIn } from './compare/codes.js';
import { Connections, CookieJar } from './compare/http.js';
import { runRound } from './compare/load.js';
import { newProofKey } from './compare/proofs.js';
import { renderSection, replaceBetweenMarkers, type ComparisonRow, type Machine, type ScalingRow } from './compare/report.js';
import { checkEquivalence, scalingScenario, scenarios, type Scenario, type Target } from './compare/scenarios.js';
import { deleteRedisKeys } from './compare/redis-keys.js';
import {
  cpuModel,
  hasTaskset,
  installPeer,
  peerVersion,
  pinSelf,
  repositoryRoot,
  startOurs,
  startPeer,
  writeBenchSigningKeys,
  type Server,
} from './compare/servers.js';
import { positiveIntegers, summariseRounds, type RoundResult } from './compare/stats.js';

const { values: options } = parseArgs({
  options: {
    requests: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    // Proofs are signed when their round starts and dpop-oidc accepts them for 60 s (dpop.maxAgeSeconds).
    'time-cap': { type: 'string', default: '45' },
    only: { type: 'string' },
    'no-scaling': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const {
  requests,
  rounds,
  connections,
  'time-cap': timeCapSeconds,
} = positiveIntegers(options, ['requests', 'rounds', 'connections', 'time-cap']);
const warmUp = Math.min(500, requests);
const allCores = `0-${cpus().length - 1}`;

const machine: Machine = {
  cpuModel: cpuModel(),
  cores: cpus().length,
  node: process.versions.node,
  date: new Date().toISOString().slice(0, 10),
  loadBefore: loadavg(),
  pinned: hasTaskset,
};

installPeer();
pinSelf(1);

const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
const jwksFile = writeBenchSigningKeys(dir);

const running: Server[] = [];
const pools: Connections[] = [];
const key = newProofKey();

async function target(server: Server, options: { signIn: boolean } = { signIn: true }): Promise<Target> {
  running.push(server);
  const pool = new Connections(server.port, connections);
  pools.push(pool);
  const jar = new CookieJar();
  if (options.signIn) await signIn(server, pool, jar);
  return { server, connections: pool, jar, concurrency: connections };
}

const formatRound = (result: RoundResult) =>
  `${String(Math.round(result.completed / result.seconds)).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ` +
  `CPU ${result.cpuMicrosPerRequest.toFixed(0)} µs/req  errors ${result.errors}${result.errors ? ` ${JSON.stringify(result.errorKinds)}` : ''}` +
  (result.completed < requests ? `  (time cap: ${result.completed} of ${requests})` : '');

let warmUpErrors = 0;
const cutShort: string[] = [];

/** Warm-up of each target, then `rounds` rounds interleaved across the targets; results per target. */
async function measure(scenario: Scenario, targets: readonly Target[]): Promise<RoundResult[][]> {
  const results: RoundResult[][] = targets.map(() => []);
  for (const each of targets) {
    const warm = await runRound(each.connections, await scenario.prepare(each, key, warmUp), {
      connections,
      timeCapMs: timeCapSeconds * 1000,
      pids: each.server.pids,
    });
    warmUpErrors += warm.errors;
    if (warm.errors) console.log(`  warm-up ${each.server.name}: ${warm.errors} errors ${JSON.stringify(warm.errorKinds)}`);
  }
  for (let round = 1; round <= rounds; round++) {
    for (const [index, each] of targets.entries()) {
      const calls = await scenario.prepare(each, key, requests);
      const result = await runRound(each.connections, calls, { connections, timeCapMs: timeCapSeconds * 1000, pids: each.server.pids });
      results[index]!.push(result);
      if (result.completed < requests)
        cutShort.push(`${scenario.name}, ${each.server.name}, round ${round}: ${result.completed} of ${requests}`);
      console.log(`  round ${round} ${each.server.name.padEnd(30)} ${formatRound(result)}`);
    }
  }
  return results;
}

let failed = true;
try {
  const ours = await target(await startOurs({ dir, jwksFile, cores: '0', store: 'memory' }));
  const peer = await target(await startPeer({ dir, jwksFile, cores: '0' }));
  const equivalence: Record<string, string[]> = {};
  for (const each of [ours, peer]) {
    equivalence[each.server.name] = await checkEquivalence(each, key);
    console.log(`${each.server.name}: ${equivalence[each.server.name]!.join('; ')}`);
  }
  console.log(
    `${requests} requests per round, ${rounds} rounds, ${connections} connections, Node ${process.version}, ${hasTaskset ? 'pinned' : 'not pinned'}`,
  );

  const rows: ComparisonRow[] = [];
  for (const scenario of scenarios.filter((each) => !options.only || each.name.includes(options.only))) {
    console.log(scenario.name);
    const [oursRounds, peerRounds] = await measure(scenario, [ours, peer]);
    rows.push({ scenario: scenario.name, ours: summariseRounds(oursRounds!), peer: summariseRounds(peerRounds!) });
  }
  for (const server of running.splice(0)) await server.stop();

  const scaling: ScalingRow[] = [];
  if (!options['no-scaling']) {
    const prefix = `bench-compare-${randomBytes(6).toString('hex')}:`;
    console.log(`${scalingScenario.name}, Redis (key prefix ${prefix})`);
    try {
      // The servers may use every core here (the generator stays on core 1): two processes on one core would gain nothing.
      const single = await target(await startOurs({ dir, jwksFile, cores: allCores, store: 'redis', workers: 1, redisKeyPrefix: prefix }), {
        signIn: false,
      });
      const double = await target(await startOurs({ dir, jwksFile, cores: allCores, store: 'redis', workers: 2, redisKeyPrefix: prefix }), {
        signIn: false,
      });
      const [singleRounds, doubleRounds] = await measure(scalingScenario, [single, double]);
      scaling.push({ processes: 1, summary: summariseRounds(singleRounds!) }, { processes: 2, summary: summariseRounds(doubleRounds!) });
    } finally {
      for (const server of running.splice(0)) await server.stop();
      console.log(`removed ${await deleteRedisKeys(prefix)} keys of ${prefix} from Redis`);
    }
  }

  const section = renderSection({
    machine,
    settings: {
      requestsPerRound: requests,
      rounds,
      connections,
      roundTimeCapSeconds: timeCapSeconds,
      peerVersion: peerVersion(),
      command: `npm run bench:compare${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    },
    rows,
    scaling,
    equivalence,
    warmUpErrors,
    cutShort,
  });
  console.log(`\n${section}\n`);
  if (!options['no-write']) {
    const page = join(repositoryRoot, 'docs/performance.md');
    writeFileSync(page, replaceBetweenMarkers(readFileSync(page, 'utf8'), section));
    console.log('written to docs/performance.md');
  }
  failed = false;
} finally {
  for (const pool of pools) pool.close();
  for (const server of running) await server.stop();
  // The servers' logs stay for a look when the run failed.
  if (failed) console.error(`server logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
