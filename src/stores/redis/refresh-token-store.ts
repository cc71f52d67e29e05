import type { Clock } from '../../lib/clock.js';
import type { RefreshTokenFamily, RefreshTokenStore, RefreshTokenSuccessor, RotateResult } from '../ports.js';
import { guarded } from './client.js';
import { defineScript, type RedisClient, type Script } from './scripts.js';

/**
 * A grant's refresh token family is one hash, expiring with its current token: `record` (the
 * JSON of what never changes) and the fields a rotation moves forward. An absent value is ''.
 * One key per family, so its scripts run in any slot on Cluster.
 */
export const createFamilyLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return redis.call('HGETALL', KEYS[1])`;

/** ARGV: presented hash, ttl, then the successor's hash, sealed, jkt, issuedAt, expiresAt. */
export const rotateFamilyLua = `
local current = redis.call('HGET', KEYS[1], 'current')
if not current then return {'missing'} end
local outcome = 'stale'
if current == ARGV[1] then
  local generation = tonumber(redis.call('HGET', KEYS[1], 'generation')) + 1
  redis.call('HSET', KEYS[1], 'previous', current, 'current', ARGV[3], 'sealed', ARGV[4], 'jkt', ARGV[5],
    'issuedAt', ARGV[6], 'expiresAt', ARGV[7], 'generation', generation)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  outcome = 'rotated'
elseif redis.call('HGET', KEYS[1], 'previous') == ARGV[1] then
  outcome = 'previous'
end
local fields = redis.call('HGETALL', KEYS[1])
table.insert(fields, 1, outcome)
return fields`;

export class RedisRefreshTokenStore implements RefreshTokenStore {
  private readonly createScript: Script;
  private readonly rotateScript: Script;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {
    this.createScript = defineScript(redis, { name: 'refreshFamilyCreate', keys: 1, lua: createFamilyLua });
    this.rotateScript = defineScript(redis, { name: 'refreshFamilyRotate', keys: 1, lua: rotateFamilyLua });
  }

  private key(familyId: string): string {
    return `${this.prefix}refresh-family:${familyId}`;
  }

  private ttl(expiresAtMs: number): number {
    return Math.max(1, Math.ceil(expiresAtMs - this.clock()));
  }

  async create(familyId: string, family: RefreshTokenFamily): Promise<RefreshTokenFamily> {
    const fields = [
      ['record', JSON.stringify({ grantId: family.grantId, clientId: family.clientId, scopes: family.scopes })],
      ['jkt', family.jkt ?? ''],
      ['expiresAt', String(family.expiresAtMs)],
      ['generation', String(family.generation)],
      ['current', family.currentHash],
      ['previous', family.previousHash ?? ''],
      ['issuedAt', String(family.issuedAtMs)],
      ['sealed', family.sealedCurrent],
    ].flat();
    const stored = (await guarded('refresh token store', () =>
      this.createScript([this.key(familyId)], [this.ttl(family.expiresAtMs), ...fields]),
    )) as string[];
    return parseFamily(stored)!;
  }

  async find(familyId: string): Promise<RefreshTokenFamily | undefined> {
    const fields = await guarded('refresh token store', () => this.redis.hgetall(this.key(familyId)));
    return parseFamily(Object.entries(fields).flat());
  }

  async rotate(familyId: string, presentedHash: string, next: RefreshTokenSuccessor): Promise<RotateResult> {
    const [outcome, ...fields] = (await guarded('refresh token store', () =>
      this.rotateScript(
        [this.key(familyId)],
        [presentedHash, this.ttl(next.expiresAtMs), next.hash, next.sealed, next.jkt ?? '', next.issuedAtMs, next.expiresAtMs],
      ),
    )) as string[];
    const family = parseFamily(fields);
    if (outcome === 'missing' || !family) return { outcome: 'missing' };
    return { outcome: outcome as 'rotated' | 'previous' | 'stale', family };
  }
}

/** A family from HGETALL's flat field list; undefined when the hash does not exist. */
function parseFamily(flat: string[]): RefreshTokenFamily | undefined {
  const fields = new Map<string, string>();
  for (let index = 0; index + 1 < flat.length; index += 2) fields.set(flat[index]!, flat[index + 1]!);
  const record = fields.get('record');
  if (record === undefined) return undefined;
  const fixed = JSON.parse(record) as { grantId: string; clientId: string; scopes: string[] };
  const optional = (name: string) => fields.get(name) || undefined;
  return {
    grantId: fixed.grantId,
    clientId: fixed.clientId,
    scopes: fixed.scopes,
    jkt: optional('jkt'),
    expiresAtMs: Number(fields.get('expiresAt')),
    generation: Number(fields.get('generation')),
    currentHash: fields.get('current')!,
    previousHash: optional('previous'),
    issuedAtMs: Number(fields.get('issuedAt')),
    sealedCurrent: fields.get('sealed')!,
  };
}
