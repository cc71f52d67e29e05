/**
 * Rounds against several servers in turn, on one machine: what bench/ab.ts and bench/floor.ts
 * compare. Each server gets an uncounted warm-up, then `rounds` rounds of `requests` calls; the
 * order turns every round (with two servers: A B, B A, A B, ...), so that no server always runs
 * right after the same one's warm caches.
 */
import { runRound } from './load.js';
import type { ProofKey } from './proofs.js';
import type { Scenario, Target } from './scenarios.js';
import type { RoundResult } from './stats.js';

export interface InterleaveOptions {
  rounds: number;
  requests: number;
  warmUp: number;
  connections: number;
  timeCapMs: number;
}

/** Results per target, in the targets' order; `report` sees each round as it ends (round from 1). */
export async function interleavedRounds(
  targets: readonly Target[],
  scenario: Scenario,
  key: ProofKey,
  options: InterleaveOptions,
  report: (index: number, round: number, result: RoundResult) => void,
): Promise<RoundResult[][]> {
  const { connections, timeCapMs } = options;
  for (const each of targets) {
    await runRound(each.connections, await scenario.prepare(each, key, options.warmUp), { connections, timeCapMs, pids: each.server.pids });
  }
  const results: RoundResult[][] = targets.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const each = targets[index]!;
      const calls = await scenario.prepare(each, key, options.requests);
      const result = await runRound(each.connections, calls, { connections, timeCapMs, pids: each.server.pids });
      results[index]!.push(result);
      report(index, round + 1, result);
    }
  }
  return results;
}
