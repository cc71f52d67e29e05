/**
 * Two builds (or two settings) of dpop-oidc side by side on one scenario of bench:compare,
 * interleaved round by round on the same core, so that what else the machine does weighs on
 * both alike. It answers "did this change make the request cheaper?" where one run after the
 * other would only show the machine's noise.
 *   cp -r dist bench/.ab-base && <change> && npm run build
 *   node --import tsx bench/ab.ts --a bench/.ab-base/main.js --b dist/main.js --only "Bearer"
 *   node --import tsx bench/ab.ts --b-env LOG_LEVEL=warn            # one build, two settings
 * Options: --a, --b (main.js of each build, relative to the repository; dist/main.js),
 * --a-env, --b-env NAME=VALUE (repeatable), --a-node, --b-node (options for node in place of
 * npm start's, repeatable: --b-node=--max-semi-space-size=16; --a-node= for none), --only TEXT, --requests N per round (3000),
 * --rounds R (6), --connections C (32). Prints server CPU µs per request per round and the
 * medians. Bounded: two servers on 127.0.0.1, fixed counts, a time cap per round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { signIn } from './compare/codes.js';
import { Connections, CookieJar } from './compare/http.js';
import { interleavedRounds } from './compare/interleave.js';
import { newProofKey } from './compare/proofs.js';
import { scenarios, type Target } from './compare/scenarios.js';
import { environmentOf, pinSelf, productionNodeOptions, startOurs, writeBenchSigningKeys, type Server } from './compare/servers.js';
import { median, positiveIntegers, type RoundResult } from './compare/stats.js';

const { values: options } = parseArgs({
  options: {
    a: { type: 'string', default: 'dist/main.js' },
    b: { type: 'string', default: 'dist/main.js' },
    'a-env': { type: 'string', multiple: true, default: [] },
    'b-env': { type: 'string', multiple: true, default: [] },
    // Options for node itself (--a-node=--max-semi-space-size=16), per build, in place of npm start's;
    // --a-node= (empty) runs node with none.
    'a-node': { type: 'string', multiple: true },
    'b-node': { type: 'string', multiple: true },
    only: { type: 'string', default: 'client_credentials, DPoP' },
    requests: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '32' },
  },
});
const { requests, rounds, connections } = positiveIntegers(options, ['requests', 'rounds', 'connections']);
const scenario = scenarios.find((each) => each.name.includes(options.only));
if (!scenario) throw new Error(`no scenario holds "${options.only}": ${scenarios.map((each) => each.name).join('; ')}`);

pinSelf(1);
const dir = mkdtempSync(join(tmpdir(), 'bench-ab-'));
const jwksFile = writeBenchSigningKeys(dir);

const servers: Server[] = [];
const pools: Connections[] = [];
try {
  const targets: { label: string; target: Target; results: RoundResult[] }[] = [];
  for (const [label, main, env, nodeArgs] of [
    ['A', options.a, options['a-env'], options['a-node']],
    ['B', options.b, options['b-env'], options['b-node']],
  ] as const) {
    const nodeOptions = nodeArgs ? nodeArgs.filter((option) => option !== '') : productionNodeOptions();
    const server = await startOurs({ dir, jwksFile, cores: '0', store: 'memory', main, env: environmentOf(env), nodeArgs: nodeOptions });
    servers.push(server);
    const pool = new Connections(server.port, connections);
    pools.push(pool);
    const jar = new CookieJar();
    await signIn(server, pool, jar);
    targets.push({
      label: `${label} ${[...nodeOptions, main, ...env].join(' ')}`,
      target: { server, connections: pool, jar, concurrency: connections },
      results: [],
    });
  }
  const key = newProofKey();
  console.log(`${scenario.name}: ${rounds} rounds of ${requests} requests, ${connections} connections, interleaved`);
  const results = await interleavedRounds(
    targets.map((each) => each.target),
    scenario,
    key,
    { rounds, requests, warmUp: Math.min(2000, requests), connections, timeCapMs: 60_000 },
    (index, round, result) =>
      console.log(
        `  round ${round} ${targets[index]!.label.slice(0, 1)}  CPU ${result.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs/req  p99 ${result.p99Ms.toFixed(1)} ms  errors ${result.errors}`,
      ),
  );
  for (const [index, each] of targets.entries()) each.results.push(...results[index]!);
  const medians = targets.map((each) => median(each.results.map((result) => result.cpuMicrosPerRequest)));
  for (const [index, each] of targets.entries()) {
    const errors = each.results.reduce((sum, result) => sum + result.errors, 0);
    console.log(`${each.label}: median ${medians[index]!.toFixed(0)} µs/req, errors ${errors}`);
  }
  console.log(`B ÷ A: ${(medians[1]! / medians[0]!).toFixed(3)}`);
} finally {
  for (const pool of pools) pool.close();
  for (const server of servers) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
