/**
 * Where the server's CPU goes on one scenario of bench:compare: dpop-oidc (from dist/) runs
 * under `node --cpu-prof`, gets the scenario's requests, stops, and the profile is read here.
 *   npm run build && node --import tsx bench/profile.ts --only "client_credentials, DPoP"
 * Options: --only TEXT (the first scenario whose name holds it), --requests N (20000),
 * --connections C (32), --interval µs between samples (200), --top N rows (30),
 * --log-level (info), --keep (keeps the .cpuprofile, to open in Chrome DevTools or speedscope),
 * --env NAME=VALUE (repeatable, for the server), --no-profile (only the server's CPU per request),
 * --folded FILE (folded stacks for a flame graph: speedscope or inferno-flamegraph read them),
 * --main FILE (another server to profile: bench/compare/floor-server.mjs, for the floor).
 * Prints self time by area (package, module folder, V8/GC) and by function, and inclusive time
 * by function: a flame graph read as text. Bounded: one server on 127.0.0.1, fixed counts.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { signIn } from './compare/codes.js';
import { Connections, CookieJar } from './compare/http.js';
import { runRound } from './compare/load.js';
import { newProofKey } from './compare/proofs.js';
import { scenarios } from './compare/scenarios.js';
import { environmentOf, pinSelf, productionNodeOptions, repositoryRoot, startOurs, writeBenchSigningKeys } from './compare/servers.js';

const { values: options } = parseArgs({
  options: {
    only: { type: 'string', default: 'client_credentials, DPoP' },
    requests: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '32' },
    interval: { type: 'string', default: '200' },
    top: { type: 'string', default: '30' },
    'log-level': { type: 'string', default: 'info' },
    keep: { type: 'boolean', default: false },
    // Without the profiler: only the server's CPU per request, to compare settings (--env) side by side.
    'no-profile': { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    // Folded stacks ("root;caller;callee µs" per line), the input of flame graph tools (speedscope, inferno).
    folded: { type: 'string' },
    // Another build or server to profile (bench/compare/floor-server.mjs, say), relative to the repository.
    main: { type: 'string', default: 'dist/main.js' },
  },
});
const requests = Number(options.requests);
const connections = Number(options.connections);
const top = Number(options.top);
const warmUp = 2000;
const scenario = scenarios.find((each) => each.name.includes(options.only));
if (!scenario) throw new Error(`no scenario holds "${options.only}": ${scenarios.map((each) => each.name).join('; ')}`);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, a folder of dist/, node's own, or V8's. */
function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (inPackage) return inPackage[1]!;
  if (path.startsWith('node:')) return path;
  const own = relative(repositoryRoot, path);
  return own.startsWith('..') ? path : own.split('/').slice(0, 2).join('/');
}

const frameName = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${area(url, functionName)}:${url.split('/').pop()}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};

/** Nodes by id, each node's parent, and the µs sampled in each node itself. */
function sampleTree(profile: Profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  return { byId, parent, self };
}

/** One line per distinct stack, its frames root first, with the µs sampled in it. */
function foldedStacks(profile: Profile): string {
  const { byId, parent, self } = sampleTree(profile);
  const lines: string[] = [];
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) frames.push(frameName(byId.get(at)!).replaceAll(';', ','));
    lines.push(`${frames.reverse().join(';')} ${us}`);
  }
  return `${lines.join('\n')}\n`;
}

function analyse(profile: Profile): string {
  const { byId, parent, self } = sampleTree(profile);
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((sum, [, us]) => sum + us, 0);
  const busy = [...self.values()].reduce((sum, us) => sum + us, 0) - idle;

  const selfByArea = new Map<string, number>();
  const selfByFrame = new Map<string, number>();
  const inclusiveByFrame = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    const name = area(node.callFrame.url, node.callFrame.functionName);
    selfByArea.set(name, (selfByArea.get(name) ?? 0) + us);
    selfByFrame.set(frameName(node), (selfByFrame.get(frameName(node)) ?? 0) + us);
    // A frame counts once per sample even when it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = frameName(byId.get(at)!);
      if (seen.has(frame)) continue;
      seen.add(frame);
      inclusiveByFrame.set(frame, (inclusiveByFrame.get(frame) ?? 0) + us);
    }
  }
  const perRequest = (us: number) =>
    `${(us / (requests + warmUp)).toFixed(1).padStart(7)} µs/req ${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const table = (title: string, rows: Map<string, number>) =>
    [
      title,
      ...[...rows]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, us]) => `  ${perRequest(us)}  ${name}`),
    ].join('\n');
  return [
    `${scenario!.name}: ${requests} requests after ${warmUp} of warm-up, ${(busy / 1000).toFixed(0)} ms busy in the profile (${perRequest(busy)}), idle ${(idle / 1000).toFixed(0)} ms`,
    table('self time by area', selfByArea),
    table('self time by function', selfByFrame),
    table('inclusive time by function', inclusiveByFrame),
  ].join('\n\n');
}

pinSelf(1);
const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
const jwksFile = writeBenchSigningKeys(dir);
const profileDir = join(dir, 'profile');
const server = await startOurs({
  dir,
  jwksFile,
  cores: '0',
  store: 'memory',
  main: options.main,
  nodeArgs: [
    ...productionNodeOptions(),
    ...(options['no-profile'] ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${Number(options.interval)}`]),
  ],
  env: {
    LOG_LEVEL: options['log-level'],
    ...environmentOf(options.env),
  },
});
const pool = new Connections(server.port, connections);
try {
  const key = newProofKey();
  const jar = new CookieJar();
  // The floor server has no sign-in page; its scenarios need none.
  if (options.main === 'dist/main.js') await signIn(server, pool, jar);
  const target = { server, connections: pool, jar, concurrency: connections };
  // Warm-up, so that the profile shows optimised code rather than start-up.
  await runRound(pool, await scenario.prepare(target, key, warmUp), { connections, timeCapMs: 60_000, pids: server.pids });
  // Proofs live 60 s: the calls are prepared in slices so that none is stale when it is sent.
  let errors = 0;
  let cpu = 0;
  for (let done = 0; done < requests; done += 5000) {
    const slice = Math.min(5000, requests - done);
    const result = await runRound(pool, await scenario.prepare(target, key, slice), { connections, timeCapMs: 60_000, pids: server.pids });
    errors += result.errors;
    cpu += result.cpuMicrosPerRequest * result.completed;
  }
  console.log(
    `server CPU ${(cpu / requests).toFixed(0)} µs per request (from /proc${options['no-profile'] ? '' : ', including the profiler'}), ${errors} errors`,
  );
} finally {
  pool.close();
  await server.stop();
}
if (options['no-profile']) {
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
const [file] = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${profileDir}; the server log: ${readFileSync(server.logFile, 'utf8').slice(-2000)}`);
const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as Profile;
console.log(analyse(profile));
if (options.folded) {
  writeFileSync(options.folded, foldedStacks(profile));
  console.log(`folded stacks written to ${options.folded}`);
}
if (options.keep) console.log(`profile kept: ${join(profileDir, file)}`);
else rmSync(dir, { recursive: true, force: true });
