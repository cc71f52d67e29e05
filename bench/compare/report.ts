/** Renders the benchmark's results as the Markdown section of docs/performance.md (pure). */
import type { ScenarioSummary } from './stats.js';

export const startMarker = '<!-- compare:start -->';
export const endMarker = '<!-- compare:end -->';

export interface Machine {
  cpuModel: string;
  cores: number;
  node: string;
  /** ISO date of the run. */
  date: string;
  /** 1, 5 and 15 minute load averages just before the run. */
  loadBefore: readonly number[];
  pinned: boolean;
}

export interface ComparisonRow {
  scenario: string;
  ours: ScenarioSummary;
  peer: ScenarioSummary;
}

export interface ScalingRow {
  processes: number;
  summary: ScenarioSummary;
}

export interface Settings {
  requestsPerRound: number;
  rounds: number;
  connections: number;
  roundTimeCapSeconds: number;
  peerVersion: string;
  command: string;
}

/** 12345.6 -> "12 346" (a thin grouping, as the rest of the docs write numbers). */
export function groupDigits(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return '—';
  const [whole, fraction] = value.toFixed(decimals).split('.');
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** a / b as "1.23×"; "—" when either is missing. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

/** "0", or "12 (503: 10, socket: 2)": every error is shown with what it was. */
export function errorCell(summary: ScenarioSummary): string {
  if (summary.errors === 0) return '0';
  const kinds = Object.entries(summary.errorKinds)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${kind}: ${count}`)
    .join(', ');
  return `**${summary.errors}** (${kinds})`;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '—');

export function renderComparisonTable(rows: readonly ComparisonRow[]): string {
  const lines = [
    '| scenario | dpop-oidc req/s | node-oidc-provider req/s | throughput, dpop-oidc ÷ peer | p50 ms (ours / peer) | p99 ms (ours / peer) | server CPU µs per request (ours / peer) | peer CPU ÷ ours | errors (ours / peer) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const { scenario, ours, peer } of rows) {
    lines.push(
      `| ${scenario} | ${groupDigits(ours.requestsPerSecond)} | ${groupDigits(peer.requestsPerSecond)} | **${ratio(ours.requestsPerSecond, peer.requestsPerSecond)}** | ` +
        `${ms(ours.p50Ms)} / ${ms(peer.p50Ms)} | ${ms(ours.p99Ms)} / ${ms(peer.p99Ms)} | ` +
        `${groupDigits(ours.cpuMicrosPerRequest)} / ${groupDigits(peer.cpuMicrosPerRequest)} | ${ratio(peer.cpuMicrosPerRequest, ours.cpuMicrosPerRequest)} | ` +
        `${errorCell(ours)} / ${errorCell(peer)} |`,
    );
  }
  return lines.join('\n');
}

export function renderScalingTable(rows: readonly ScalingRow[]): string {
  const lines = [
    '| dpop-oidc processes on Redis | req/s | gain over one process | p50 ms | p99 ms | server CPU µs per request (all processes) | errors |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const single = rows.find((row) => row.processes === 1)?.summary.requestsPerSecond ?? Number.NaN;
  for (const { processes, summary } of rows) {
    lines.push(
      `| ${processes} | ${groupDigits(summary.requestsPerSecond)} | ${ratio(summary.requestsPerSecond, single)} | ${ms(summary.p50Ms)} | ${ms(summary.p99Ms)} | ` +
        `${groupDigits(summary.cpuMicrosPerRequest)} | ${errorCell(summary)} |`,
    );
  }
  return lines.join('\n');
}

export function describeMachine(machine: Machine): string {
  const load = machine.loadBefore.map((value) => value.toFixed(2)).join(', ');
  return (
    `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date}. ` +
    `Load average before the run (1, 5, 15 min): ${load}` +
    (machine.loadBefore[0]! > 0.5 ? ' — other work was running on the machine.' : '.') +
    (machine.pinned ? ' Server on core 0 and load generator on core 1 (`taskset`).' : ' Not pinned (no `taskset`).')
  );
}

/** Puts `section` between the markers, or appends the markers with it when the page has none. */
export function replaceBetweenMarkers(page: string, section: string, markers = { start: startMarker, end: endMarker }): string {
  const block = `${markers.start}\n${section.trim()}\n${markers.end}`;
  const start = page.indexOf(markers.start);
  const end = page.indexOf(markers.end);
  if (start < 0 && end < 0) return `${page.trimEnd()}\n\n${block}\n`;
  if (start < 0 || end < start)
    throw new Error(`docs/performance.md: ${markers.start} and ${markers.end} must appear once each, in that order`);
  return page.slice(0, start) + block + page.slice(end + markers.end.length);
}

/** Said under the table when other work loaded the machine. */
export const busyNote =
  'The machine was busy: req/s and latency of a round depend on what else ran on its core meanwhile, and changed ' +
  'from round to round by more than the difference between the servers in some rows. Server CPU per request changed ' +
  'much less; it is the figure to compare here.';

export interface SectionInput {
  machine: Machine;
  settings: Settings;
  rows: readonly ComparisonRow[];
  scaling: readonly ScalingRow[];
  /** What the start-up check saw, per server name. */
  equivalence: Readonly<Record<string, readonly string[]>>;
  /** Non-2xx answers during the warm-ups, which the table does not count. */
  warmUpErrors: number;
  /** Rounds that the time cap ended before all their requests were sent: "scenario, server: done of planned". */
  cutShort: readonly string[];
}

export function renderSection(input: SectionInput): string {
  const { machine, settings } = input;
  const parts = [
    '## Side by side with node-oidc-provider',
    '',
    '```',
    settings.command,
    '```',
    '',
    `Machine: ${describeMachine(machine)}`,
    '',
    `Set-up: each server is its own process on 127.0.0.1, started and stopped by the benchmark (bench/compare.ts). ` +
      `The load generator is one Node process: node:http over ${settings.connections} kept-alive connections, each sending its next request when its answer arrives. ` +
      `${settings.rounds} round${settings.rounds === 1 ? '' : 's'} per scenario, interleaved (dpop-oidc, node-oidc-provider, dpop-oidc, ...), ${groupDigits(settings.requestsPerRound)} requests per round ` +
      `(at most ${settings.roundTimeCapSeconds} s), after an uncounted warm-up of each server. Every DPoP proof is signed before its round, ` +
      'with its own `jti` (and the `ath` of the token at userinfo), so the generator spends the round sending. Codes and refresh tokens ' +
      'are minted before their round too (below). The table shows medians over the rounds; server CPU is utime + stime of the ' +
      "server's processes (/proc/<pid>/stat) over the round, divided by the requests answered. Every answer outside 2xx is an error, and is shown." +
      (input.warmUpErrors > 0 ? ` **The warm-ups had ${input.warmUpErrors} errors.**` : ' The warm-ups had no errors.') +
      (input.cutShort.length > 0
        ? ` **Rounds ended by the time cap:** ${input.cutShort.join('; ')}.`
        : ' No round was ended by the time cap.'),
    '',
    '- **dpop-oidc**: `node dist/main.js` with the node options of `npm start`, the demo config (config/default.json), `LOG_LEVEL=info` (one JSON line per request, to a file), ' +
      'in-memory stores, the metrics of the build as configured by default. One change: `http.authorizeRequestsPerMinute` is raised, ' +
      'since every code is minted from one address.',
    `- **node-oidc-provider ${settings.peerVersion}** (npm \`oidc-provider\`, installed in bench/peer only): bench/peer/server.mjs, ` +
      'the same clients and secrets, DPoP on, ES256 signing key (the same key file as dpop-oidc), client_credentials tokens as ' +
      "ES256 JWTs through `resourceIndicators` (`accessTokenFormat: 'jwt'`), introspection and userinfo on, the shipped memory " +
      'adapter with a bound of 1 000 000 entries (its default of 1 000 would evict codes and replay entries during a round), ' +
      'refresh tokens rotated on every use, one grant per authorization, koa with `NODE_ENV=production`. It logs only its start-up warnings, one of which says it wants Node 22 or later.',
    '',
    renderComparisonTable(input.rows),
    '',
    ...(machine.loadBefore[0]! >= machine.cores / 2 ? [busyNote, ''] : []),
    'What the rows measure, and where the two servers do different work:',
    '',
    '- **token, client_credentials**: client_secret_basic, `scope=api:read`; both sign an ES256 JWT access token (RFC 9068). ' +
      'With DPoP: the proof is verified, its `jti` claimed in the replay store, the token bound with `cnf.jkt`.',
    "- **profile (userinfo), DPoP**: alice's access token from the code flow, with a proof carrying `ath`. dpop-oidc verifies its JWT " +
      "access token's signature; node-oidc-provider looks its opaque token up in memory (its userinfo takes only tokens without " +
      'a resource, which it issues opaque). Both verify the proof, claim its `jti`, check the binding and read the claims.',
    '- **introspection of a DPoP-bound token**: the same user token, by the resource-server client (client_secret_basic). ' +
      'node-oidc-provider refuses to introspect JWTs (`unsupported_token_type`), so it looks up in memory ' +
      "its token and the token's grant; dpop-oidc verifies its JWT's signature and claims, checks the revocation list and " +
      "counts the request against the caller's introspection limit (30 000 a minute by default).",
    '- **authorization-code exchange, DPoP**: public client, PKCE S256, one code per request. The codes are minted before the round ' +
      "through the servers' own pages: alice signs in once through the sign-in form (and consents), then each authorization " +
      'request of that session answers with a redirect carrying a code. Each exchange issues a DPoP-bound access token, a ' +
      'refresh token and an ES256 ID token.',
    '- **refresh, DPoP**: one refresh token per request, each from its own code exchanged before the round with the same proof key; ' +
      'both rotate it and issue a new access token and ID token.',
    '',
    'Checked at start, per server:',
    '',
    ...Object.entries(input.equivalence).flatMap(([name, facts]) => [`- ${name}: ${facts.join('; ')}`]),
  ];
  if (input.scaling.length > 0) {
    parts.push(
      '',
      '### Two processes on the Redis store',
      '',
      renderScalingTable(input.scaling),
      '',
      'token, client_credentials, DPoP (the replay check is a Redis `SET NX` shared by the processes). One and two dpop-oidc ' +
        'workers behind one port (node:cluster, bench/compare/cluster-server.mjs, `STORE=redis`, the shared Redis on ' +
        '127.0.0.1:6379 under a key prefix of its own), interleaved round by round like the table above. Not pinned: the ' +
        "workers, the cluster primary, Redis and the load generator share the machine's cores, so the gain here is a lower " +
        'bound of what separate machines would give; CPU per request adds up every dpop-oidc process (primary and workers), ' +
        'not Redis.' +
        (machine.loadBefore[0]! >= machine.cores
          ? ' With the load average above the core count, a second process had no idle core to use.'
          : ''),
    );
  }
  return parts.join('\n');
}
