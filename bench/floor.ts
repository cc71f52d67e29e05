/**
 * How far the token endpoint can go on this machine: dpop-oidc, node-oidc-provider and the
 * floor (bench/compare/floor-server.mjs: Fastify, the form parser, one ES256 verification of
 * the proof and one ES256 signature, nothing else) side by side on bench:compare's two
 * client_credentials scenarios, interleaved round by round on core 0, with the cost of one
 * ES256 signature and verification in a loop on the same core.
 *   npm run build && node --import tsx bench/floor.ts            # writes its section of docs/performance.md
 * Options: --requests N per round (3000), --rounds R (5), --connections C (32), --no-write.
 * Bounded: three servers on 127.0.0.1, fixed counts, a time cap per round.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Connections, CookieJar } from './compare/http.js';
import { interleavedRounds } from './compare/interleave.js';
import { newProofKey } from './compare/proofs.js';
import { replaceBetweenMarkers } from './compare/report.js';
import { scenarios, type Target } from './compare/scenarios.js';
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
import { median, positiveIntegers } from './compare/stats.js';

const { values: options } = parseArgs({
  options: {
    requests: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    'no-write': { type: 'boolean', default: false },
    // Internal: the crypto loop, run on core 0 in a child of its own.
    'crypto-loop': { type: 'boolean', default: false },
  },
});

/** µs per ES256 signature and per verification of a 300-byte input, median of 5 loops of 2 000. */
function cryptoLoop(): { signMicros: number; verifyMicros: number } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(300, 'x');
  const signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const time = (operation: () => unknown) => {
    const loops: number[] = [];
    for (let loop = 0; loop < 6; loop++) {
      const started = process.hrtime.bigint();
      for (let index = 0; index < 2000; index++) operation();
      loops.push(Number(process.hrtime.bigint() - started) / 2000 / 1000);
    }
    return median(loops.slice(1));
  };
  return {
    signMicros: time(() => sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
    verifyMicros: time(() => verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)),
  };
}

if (options['crypto-loop']) {
  process.stdout.write(JSON.stringify(cryptoLoop()));
  process.exit(0);
}

const { requests, rounds, connections } = positiveIntegers(options, ['requests', 'rounds', 'connections']);
const chosen = scenarios.filter((each) => each.name.startsWith('token, client_credentials'));

installPeer();
pinSelf(1);
const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
const jwksFile = writeBenchSigningKeys(dir);
const servers: Server[] = [];
const pools: Connections[] = [];
try {
  const started = [
    { ...(await startOurs({ dir, jwksFile, cores: '0', store: 'memory' })) },
    await startPeer({ dir, jwksFile, cores: '0' }),
    { ...(await startOurs({ dir, jwksFile, cores: '0', store: 'memory', main: 'bench/compare/floor-server.mjs' })), name: 'floor' },
  ];
  const targets: Target[] = started.map((server) => {
    servers.push(server);
    const pool = new Connections(server.port, connections);
    pools.push(pool);
    return { server, connections: pool, jar: new CookieJar(), concurrency: connections };
  });
  const key = newProofKey();
  const rows: { scenario: string; cpu: number[]; p99: number[]; errors: number[] }[] = [];
  for (const scenario of chosen) {
    console.log(`${scenario.name}: ${rounds} rounds of ${requests} requests, ${connections} connections`);
    const results = await interleavedRounds(
      targets,
      scenario,
      key,
      { rounds, requests, warmUp: Math.min(1000, requests), connections, timeCapMs: 45_000 },
      (index, round, result) =>
        console.log(
          `  round ${round} ${targets[index]!.server.name.padEnd(20)} CPU ${result.cpuMicrosPerRequest.toFixed(0).padStart(5)} µs/req  p99 ${result.p99Ms.toFixed(1)} ms  errors ${result.errors}`,
        ),
    );
    rows.push({
      scenario: scenario.name,
      cpu: results.map((each) => median(each.map((result) => result.cpuMicrosPerRequest))),
      p99: results.map((each) => median(each.map((result) => result.p99Ms))),
      errors: results.map((each) => each.reduce((sum, result) => sum + result.errors, 0)),
    });
  }
  const loop = spawnSync(
    hasTaskset ? 'taskset' : process.execPath,
    [...(hasTaskset ? ['-c', '0', process.execPath] : []), '--import', 'tsx', 'bench/floor.ts', '--crypto-loop'],
    {
      cwd: repositoryRoot,
      encoding: 'utf8',
    },
  );
  if (loop.status !== 0) throw new Error(`crypto loop failed: ${loop.stderr}`);
  const crypto = JSON.parse(loop.stdout) as { signMicros: number; verifyMicros: number };

  const targetsByScenario: Record<string, number> = { 'token, client_credentials, DPoP': 4, 'token, client_credentials, Bearer': 3 };
  const lines = [
    `Run of \`node --import tsx bench/floor.ts\` on ${new Date().toISOString().slice(0, 10)}: ${cpuModel()}, ${cpus().length} cores, Node ${process.versions.node}, ` +
      `${hasTaskset ? 'servers on core 0, load on core 1' : 'not pinned'}; ${rounds} interleaved rounds of ${requests} requests, ${connections} connections; ` +
      `median server CPU µs per request. node-oidc-provider ${peerVersion()}. In a loop on core 0: one ES256 signature ${crypto.signMicros.toFixed(0)} µs, ` +
      `one verification ${crypto.verifyMicros.toFixed(0)} µs (node:crypto).`,
    '',
    '| scenario | node-oidc-provider | dpop-oidc | floor | peer ÷ dpop-oidc | peer ÷ floor | target | CPU the target allows | p99 ms (peer / ours / floor) | errors (peer / ours / floor) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows.map((row) => {
      const [ours, peer, floor] = row.cpu as [number, number, number];
      const goal = targetsByScenario[row.scenario]!;
      return (
        `| ${row.scenario} | ${peer.toFixed(0)} | ${ours.toFixed(0)} | ${floor.toFixed(0)} | ${(peer / ours).toFixed(2)}× | ` +
        `**${(peer / floor).toFixed(2)}×** | ${goal}× | ${(peer / goal).toFixed(0)} | ${[row.p99[1]!, row.p99[0]!, row.p99[2]!].map((value) => value.toFixed(1)).join(' / ')} | ` +
        `${row.errors[1]} / ${row.errors[0]} / ${row.errors[2]} |`
      );
    }),
  ];
  const section = lines.join('\n');
  console.log(`\n${section}`);
  if (!options['no-write']) {
    const path = join(repositoryRoot, 'docs/performance.md');
    writeFileSync(
      path,
      replaceBetweenMarkers(readFileSync(path, 'utf8'), section, { start: '<!-- floor:start -->', end: '<!-- floor:end -->' }),
    );
    console.log('\nwritten to docs/performance.md');
  }
} finally {
  for (const pool of pools) pool.close();
  for (const server of servers) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
