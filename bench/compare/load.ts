/**
 * One measured round: prepared calls sent over N kept-alive connections, each connection
 * sending its next call as soon as its answer arrives, until the calls run out or the time cap
 * passes. Every answer outside 2xx, and every request that got none, is an error.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Call, Connections } from './http.js';
import { cpuMicrosPerRequest, parseProcStat, sumTicks, summariseRound, type CpuTicks, type RoundResult } from './stats.js';

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export function readCpu(pids: readonly number[]): CpuTicks {
  return sumTicks(pids.map((pid) => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))));
}

export interface RoundOptions {
  connections: number;
  timeCapMs: number;
  /** The server's processes, for its CPU time. */
  pids: readonly number[];
}

export async function runRound(connections: Connections, calls: readonly Call[], options: RoundOptions): Promise<RoundResult> {
  const latencies = new Float64Array(calls.length);
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  let completed = 0;
  const cpuBefore = readCpu(options.pids);
  const started = performance.now();
  const deadline = started + options.timeCapMs;
  await Promise.all(
    Array.from({ length: Math.min(options.connections, calls.length) }, async () => {
      while (next < calls.length && performance.now() < deadline) {
        const call = calls[next++]!;
        const sent = performance.now();
        const status = await connections.sendForStatus(call);
        latencies[completed++] = performance.now() - sent;
        if (status < 200 || status >= 300) {
          errors++;
          const kind = status === 0 ? 'no answer' : String(status);
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = readCpu(options.pids);
  return summariseRound(latencies.subarray(0, completed), {
    errors,
    errorKinds,
    seconds,
    cpuMicrosPerRequest: cpuMicrosPerRequest(cpuBefore, cpuAfter, clockTicks, completed),
  });
}
