/** Removes the scaling scenario's keys from the shared Redis: only those under its own random prefix, never anything else. */
import { Redis } from 'ioredis';

export async function deleteRedisKeys(prefix: string, url = 'redis://127.0.0.1:6379'): Promise<number> {
  if (!/^bench-compare-[0-9a-f]{12}:$/.test(prefix)) throw new Error(`refusing to delete keys under ${JSON.stringify(prefix)}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    // Bounded: SCAN visits each key at most a few times; stop after 10 000 batches in any case.
    for (let batch = 0; batch < 10_000; batch++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}
