/** The arithmetic of the side-by-side benchmark, kept pure so that test/unit/bench-harness.test.ts can check it. */

/** Nearest-rank percentile (p in (0, 100]) of values sorted ascending; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The middle value (the mean of the two middle ones for an even count); NaN when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** utime and stime of a process, in clock ticks, as /proc/<pid>/stat counts them. */
export interface CpuTicks {
  user: number;
  system: number;
}

/**
 * Reads utime and stime (fields 14 and 15) from the text of /proc/<pid>/stat. The command name
 * (field 2) is in parentheses and may itself hold spaces or parentheses, so fields are counted
 * from the last ')'.
 */
export function parseProcStat(text: string): CpuTicks {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/<pid>/stat line');
  // After ')': field 3 (state) is at index 0, so field n is at index n - 3.
  const fields = text
    .slice(end + 2)
    .trim()
    .split(/\s+/);
  const user = Number(fields[14 - 3]);
  const system = Number(fields[15 - 3]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error('no utime/stime in /proc/<pid>/stat');
  return { user, system };
}

/** Server CPU time per request, in microseconds: the growth of utime + stime over the requests answered. */
export function cpuMicrosPerRequest(before: CpuTicks, after: CpuTicks, ticksPerSecond: number, requests: number): number {
  if (requests <= 0) return Number.NaN;
  const ticks = after.user + after.system - (before.user + before.system);
  if (ticks < 0) throw new Error('CPU ticks went backwards: not the same process');
  return (ticks / ticksPerSecond / requests) * 1e6;
}

/** Adds the ticks of several processes (the workers of one server). */
export function sumTicks(all: readonly CpuTicks[]): CpuTicks {
  return all.reduce((sum, ticks) => ({ user: sum.user + ticks.user, system: sum.system + ticks.system }), { user: 0, system: 0 });
}

/** What one round of one scenario against one server measured. */
export interface RoundResult {
  /** Requests sent and answered (or failed at the socket) within the round. */
  completed: number;
  /** Responses outside 2xx, and requests that failed without a response. */
  errors: number;
  /** Status (or "socket") -> count, for the errors. */
  errorKinds: Record<string, number>;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerRequest: number;
}

/** Summarises the latencies (ms, any order) and counts of one round. */
export function summariseRound(
  latenciesMs: Float64Array | number[],
  input: { errors: number; errorKinds: Record<string, number>; seconds: number; cpuMicrosPerRequest: number },
): RoundResult {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    completed: sorted.length,
    errors: input.errors,
    errorKinds: input.errorKinds,
    seconds: input.seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    cpuMicrosPerRequest: input.cpuMicrosPerRequest,
  };
}

/** The medians over rounds that the table shows, and the errors of every round added up. */
export interface ScenarioSummary {
  rounds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerRequest: number;
  requests: number;
  errors: number;
  errorKinds: Record<string, number>;
}

export function summariseRounds(rounds: readonly RoundResult[]): ScenarioSummary {
  const errorKinds: Record<string, number> = {};
  for (const round of rounds) {
    for (const [kind, count] of Object.entries(round.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + count;
  }
  return {
    rounds: rounds.length,
    requestsPerSecond: median(rounds.map((round) => (round.seconds > 0 ? round.completed / round.seconds : Number.NaN))),
    p50Ms: median(rounds.map((round) => round.p50Ms)),
    p99Ms: median(rounds.map((round) => round.p99Ms)),
    cpuMicrosPerRequest: median(rounds.map((round) => round.cpuMicrosPerRequest)),
    requests: rounds.reduce((sum, round) => sum + round.completed, 0),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    errorKinds,
  };
}

/**
 * Each named option as a positive integer; throws naming the options when one is not
 * (--requests, --rounds, ... of the benchmark scripts).
 */
export function positiveIntegers<K extends string>(options: Record<K, string>, names: readonly K[]): Record<K, number> {
  const values = Object.fromEntries(names.map((name) => [name, Number(options[name])])) as Record<K, number>;
  if (!names.every((name) => Number.isInteger(values[name]) && values[name] > 0)) {
    throw new Error(`${names.map((name) => `--${name}`).join(', ')} take positive integers`);
  }
  return values;
}
