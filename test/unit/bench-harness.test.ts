import { describe, expect, it } from 'vitest';
import { CookieJar, readForm } from '../../bench/compare/http.js';
import {
  busyNote,
  endMarker,
  errorCell,
  groupDigits,
  ratio,
  renderComparisonTable,
  renderScalingTable,
  renderSection,
  replaceBetweenMarkers,
  startMarker,
} from '../../bench/compare/report.js';
import {
  cpuMicrosPerRequest,
  median,
  parseProcStat,
  percentile,
  positiveIntegers,
  summariseRound,
  summariseRounds,
  type RoundResult,
  type ScenarioSummary,
} from '../../bench/compare/stats.js';

const summary = (overrides: Partial<ScenarioSummary> = {}): ScenarioSummary => ({
  rounds: 3,
  requestsPerSecond: 2500,
  p50Ms: 12.34,
  p99Ms: 40.06,
  cpuMicrosPerRequest: 380,
  requests: 12_000,
  errors: 0,
  errorKinds: {},
  ...overrides,
});

describe('percentiles and medians of the benchmark', () => {
  it('takes the nearest rank: p50 of 1..100 is 50, p99 is 99, p100 the largest', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('p99 of ten values is the largest (rank ceil(9.9) = 10), p50 the fifth', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1000];
    expect(percentile(sorted, 99)).toBe(1000);
    expect(percentile(sorted, 50)).toBe(5);
  });

  it('has no percentile of nothing, and refuses p outside (0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('medians: the middle of an odd count, the mean of the two middles of an even one, in any order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('server CPU per request from /proc/<pid>/stat', () => {
  // A real line's shape: the command name may hold spaces and parentheses.
  const stat = (utime: number, stime: number) =>
    `4242 (node (main) x) S 1 4242 4242 0 -1 4194304 5000 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 123456 1000000 20000 18446744073709551615`;

  it('reads utime and stime (fields 14 and 15), counting from the last parenthesis', () => {
    expect(parseProcStat(stat(1234, 56))).toEqual({ user: 1234, system: 56 });
  });

  it('refuses a line without the fields', () => {
    expect(() => parseProcStat('no parenthesis here')).toThrow();
    expect(() => parseProcStat('1 (node) S 1')).toThrow(/utime/);
  });

  it('divides the growth of utime + stime by the requests: 250 ticks of 10 ms over 5 000 requests is 500 µs each', () => {
    const before = parseProcStat(stat(1000, 100));
    const after = parseProcStat(stat(1200, 150));
    expect(cpuMicrosPerRequest(before, after, 100, 5000)).toBeCloseTo(500, 6);
  });

  it('gives no figure for no requests, and refuses ticks that went backwards', () => {
    expect(cpuMicrosPerRequest({ user: 1, system: 1 }, { user: 2, system: 2 }, 100, 0)).toBeNaN();
    expect(() => cpuMicrosPerRequest({ user: 10, system: 0 }, { user: 5, system: 0 }, 100, 10)).toThrow(/backwards/);
  });
});

describe('rounds into one row', () => {
  it('summarises a round: requests answered, latency percentiles, errors kept', () => {
    const round = summariseRound([5, 1, 4, 2, 3], {
      errors: 2,
      errorKinds: { '503': 1, 'no answer': 1 },
      seconds: 0.5,
      cpuMicrosPerRequest: 400,
    });
    expect(round).toMatchObject({ completed: 5, errors: 2, p50Ms: 3, p99Ms: 5, seconds: 0.5, cpuMicrosPerRequest: 400 });
  });

  it('takes the median of each figure over the rounds, and adds up every error of every round', () => {
    const rounds: RoundResult[] = [
      { completed: 1000, errors: 0, errorKinds: {}, seconds: 1, p50Ms: 10, p99Ms: 30, cpuMicrosPerRequest: 400 },
      { completed: 1000, errors: 3, errorKinds: { '429': 3 }, seconds: 0.5, p50Ms: 8, p99Ms: 90, cpuMicrosPerRequest: 380 },
      { completed: 1000, errors: 1, errorKinds: { '429': 1 }, seconds: 2, p50Ms: 12, p99Ms: 20, cpuMicrosPerRequest: 500 },
    ];
    expect(summariseRounds(rounds)).toEqual({
      rounds: 3,
      requestsPerSecond: 1000,
      p50Ms: 10,
      p99Ms: 30,
      cpuMicrosPerRequest: 400,
      requests: 3000,
      errors: 4,
      errorKinds: { '429': 4 },
    });
  });
});

describe('the Markdown of docs/performance.md', () => {
  it('groups digits with spaces, and writes ratios with two decimals', () => {
    expect(groupDigits(1234567.8)).toBe('1 234 568');
    expect(groupDigits(999)).toBe('999');
    expect(groupDigits(Number.NaN)).toBe('—');
    expect(ratio(3000, 2000)).toBe('1.50×');
    expect(ratio(1, 0)).toBe('—');
  });

  it('shows every error with its kind, in bold', () => {
    expect(errorCell(summary())).toBe('0');
    expect(errorCell(summary({ errors: 12, errorKinds: { 'no answer': 2, '503': 10 } }))).toBe('**12** (503: 10, no answer: 2)');
  });

  it('renders one row per scenario with both servers, the ratios, and the errors', () => {
    const table = renderComparisonTable([
      {
        scenario: 'token, client_credentials, DPoP',
        ours: summary(),
        peer: summary({ requestsPerSecond: 1000, p50Ms: 30, p99Ms: 80, cpuMicrosPerRequest: 950, errors: 1, errorKinds: { '400': 1 } }),
      },
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\| scenario \| dpop-oidc req\/s \| node-oidc-provider req\/s \|/);
    expect(lines[1]).toMatch(/^\| --- \|( ---: \|)+ --- \|$/);
    expect(lines[2]).toBe(
      '| token, client_credentials, DPoP | 2 500 | 1 000 | **2.50×** | 12.3 / 30.0 | 40.1 / 80.0 | 380 / 950 | 2.50× | 0 / **1** (400: 1) |',
    );
  });

  it('renders the scaling rows with the gain over one process', () => {
    const table = renderScalingTable([
      { processes: 1, summary: summary({ requestsPerSecond: 2000 }) },
      { processes: 2, summary: summary({ requestsPerSecond: 3100 }) },
    ]);
    expect(table.split('\n')[2]).toMatch(/^\| 1 \| 2 000 \| 1\.00× \|/);
    expect(table.split('\n')[3]).toMatch(/^\| 2 \| 3 100 \| 1\.55× \|/);
  });

  it('replaces only what stands between the markers', () => {
    const page = `# Performance\n\nbefore\n\n${startMarker}\nold table\n${endMarker}\n\nafter\n`;
    expect(replaceBetweenMarkers(page, 'new table\n')).toBe(
      `# Performance\n\nbefore\n\n${startMarker}\nnew table\n${endMarker}\n\nafter\n`,
    );
  });

  it('appends the markers to a page that has none, and refuses markers out of order', () => {
    expect(replaceBetweenMarkers('# Performance\n', 'table')).toBe(`# Performance\n\n${startMarker}\ntable\n${endMarker}\n`);
    expect(() => replaceBetweenMarkers(`${endMarker}\n${startMarker}`, 'table')).toThrow(/in that order/);
  });

  it('keeps a section of its own between other markers (bench/floor.ts), leaving the compare section alone', () => {
    const floor = { start: '<!-- floor:start -->', end: '<!-- floor:end -->' };
    const page = `${startMarker}\ncompare\n${endMarker}\n\n${floor.start}\nold\n${floor.end}\n`;
    expect(replaceBetweenMarkers(page, 'new', floor)).toBe(`${startMarker}\ncompare\n${endMarker}\n\n${floor.start}\nnew\n${floor.end}\n`);
  });

  it('reads counts and rounds as positive integers, naming the options when one is not', () => {
    expect(positiveIntegers({ requests: '3000', rounds: '5' }, ['requests', 'rounds'])).toEqual({ requests: 3000, rounds: 5 });
    for (const bad of ['0', '-1', '2.5', 'many', '']) {
      expect(() => positiveIntegers({ requests: bad, rounds: '5' }, ['requests', 'rounds'])).toThrow(
        '--requests, --rounds take positive integers',
      );
    }
  });
});

describe('driving the sign-in pages', () => {
  it("reads a form's action and hidden fields, with or without a closing slash", () => {
    const html =
      '<form method="post" action="/oidc/login?x=1&amp;y=2"><input type="hidden" name="interaction" value="abc&quot;"><input type="hidden" name="prompt" value="login"/><input name="username"></form>';
    expect(readForm(html)).toEqual({ action: '/oidc/login?x=1&y=2', hidden: { interaction: 'abc"', prompt: 'login' } });
    expect(readForm('<p>no form</p>')).toBeUndefined();
  });

  it('keeps cookies by name, and drops one the server expires', () => {
    const jar = new CookieJar();
    jar.update(['a=1; Path=/; HttpOnly', 'b=2; Max-Age=60']);
    expect(jar.header()).toEqual({ cookie: 'a=1; b=2' });
    jar.update('a=; Max-Age=0');
    jar.update('b=3; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    expect(jar.header()).toEqual({});
  });
});

describe('the section written to docs/performance.md', () => {
  const input = (loadBefore: number[]) => ({
    machine: { cpuModel: 'AMD EPYC', cores: 2, node: '20.20.2', date: '2026-12-01', loadBefore, pinned: true },
    settings: {
      requestsPerRound: 4000,
      rounds: 3,
      connections: 32,
      roundTimeCapSeconds: 45,
      peerVersion: '9.13.3',
      command: 'npm run bench:compare',
    },
    rows: [{ scenario: 'refresh, DPoP', ours: summary(), peer: summary() }],
    scaling: [],
    equivalence: { 'dpop-oidc': ['client_credentials + DPoP: token_type DPoP'] },
    warmUpErrors: 0,
    cutShort: ['refresh, DPoP, dpop-oidc, round 2: 3000 of 4000'],
  });

  it('describes the machine with its load before the run, and says when it was busy', () => {
    const busy = renderSection(input([9.15, 7.91, 6.06]));
    expect(busy).toContain('Load average before the run (1, 5, 15 min): 9.15, 7.91, 6.06 — other work was running on the machine.');
    expect(busy).toContain(busyNote);
    expect(renderSection(input([0.1, 0.2, 0.3]))).not.toContain(busyNote);
  });

  it('names the rounds the time cap ended, and the peer version', () => {
    const section = renderSection(input([0.1, 0.1, 0.1]));
    expect(section).toContain('**Rounds ended by the time cap:** refresh, DPoP, dpop-oidc, round 2: 3000 of 4000.');
    expect(section).toContain('**node-oidc-provider 9.13.3**');
    expect(section).not.toContain('Two processes on the Redis store');
  });
});
