/**
 * One refresh-token rotation script call, sent as EVAL (the whole script every time, as before)
 * against EVALSHA (ioredis defineCommand: the script once per connection, then its SHA1):
 *   npx tsx bench/redis-scripts.ts [calls=20000]
 * Runs a redis-server of its own on 127.0.0.1:7111 (so that INFO commandstats counts only these
 * calls), killed at the end. Sequential calls, one in flight: the round trip as a request sees
 * it (wall time, the machine is shared) and Redis's own time per call (commandstats).
 * Bounded: `calls` per variant, and at most 20 s each.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRedisClient } from '../src/stores/redis/client.js';
import { createFamilyLua, rotateFamilyLua } from '../src/stores/redis/refresh-token-store.js';
import { defineScript } from '../src/stores/redis/scripts.js';

const calls = Number(process.argv[2] ?? 20_000);
const port = 7111;
const maxMsPerVariant = 20_000;

const server = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
  { stdio: 'ignore' },
);
const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
const redis = createRedisClient(`redis://127.0.0.1:${port}`);
for (let attempt = 0; ; attempt++) {
  try {
    await redis.connect();
    break;
  } catch (error) {
    if (attempt > 50) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const hash = () => randomBytes(32).toString('base64url');
const ttlMs = 60_000;

type Rotate = (key: string, args: Array<string | number>) => Promise<unknown>;

async function variant(name: string, rotate: Rotate): Promise<void> {
  await redis.call('CONFIG', 'RESETSTAT');
  const key = `bench:{family:${hash()}}`;
  let current = hash();
  const now = Date.now();
  const record = JSON.stringify({ grantId: hash(), clientId: 'spa', scopes: ['openid', 'offline_access'] });
  await redis.eval(
    createFamilyLua,
    1,
    key,
    ttlMs,
    'record',
    record,
    'jkt',
    '',
    'expiresAt',
    now + ttlMs,
    'generation',
    0,
    'current',
    current,
    'previous',
    '',
    'issuedAt',
    now,
    'sealed',
    hash(),
  );
  const times: number[] = [];
  const deadline = Date.now() + maxMsPerVariant;
  for (let index = 0; index < calls && Date.now() < deadline; index++) {
    const next = hash();
    const started = process.hrtime.bigint();
    const [outcome] = (await rotate(key, [current, ttlMs, next, hash(), 'j'.repeat(43), now, now + ttlMs])) as string[];
    times.push(Number(process.hrtime.bigint() - started) / 1000);
    if (outcome !== 'rotated') throw new Error(`${name}: ${outcome}`);
    current = next;
  }
  const stats = (await redis.info('commandstats')).split('\n');
  const serverUs = (command: string) =>
    /usec_per_call=([\d.]+)/.exec(stats.find((line) => line.startsWith(`cmdstat_${command}:`)) ?? '')?.[1];
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
  const mean = times.reduce((sum, time) => sum + time, 0) / times.length;
  console.log(
    `${name.padEnd(8)} ${times.length} calls: round trip mean ${mean.toFixed(0)} µs, p50 ${at(0.5)} µs, p99 ${at(0.99)} µs; ` +
      `Redis per call: eval ${serverUs('eval') ?? '-'} µs, evalsha ${serverUs('evalsha') ?? '-'} µs`,
  );
}

const script = defineScript(redis, { name: 'benchRotate', keys: 1, lua: rotateFamilyLua });
console.log(`rotation script: ${Buffer.byteLength(rotateFamilyLua)} bytes of Lua, sent whole by EVAL; EVALSHA sends its 40-character SHA1`);
try {
  // Twice each, alternating, so that neither profits alone from a warmed-up process.
  for (let round = 0; round < 2; round++) {
    await variant('EVAL', (key, args) => redis.eval(rotateFamilyLua, 1, key, ...args));
    await variant('EVALSHA', (key, args) => script([key], args));
  }
} finally {
  redis.disconnect();
  server.kill('SIGKILL');
  await exited;
}
