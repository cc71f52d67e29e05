#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { fail } from './fail.js';
import { runSelftest, type CheckResult } from './selftest-checks.js';

/**
 * Checks a running deployment from the outside, as a DPoP client would:
 *   npm run -s selftest -- --issuer https://op.example.com/oidc --client-id ID --client-secret S
 *   node dist/cli/selftest.js …   (in the image)
 * One line per check, a hint under each failure; exit status 1 when a check fails.
 */
const usage = 'usage: selftest --issuer URL --client-id ID --client-secret SECRET [--timeout-ms 10000]';

let values;
try {
  ({ values } = parseArgs({
    options: {
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'timeout-ms': { type: 'string', default: '10000' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  fail(`${(error as Error).message}; ${usage}`, 2);
}
if (values.help) fail(usage, 0);
const issuer = values.issuer;
if (!issuer || !URL.canParse(issuer) || !/^https?:$/.test(new URL(issuer).protocol))
  fail(`--issuer must be an absolute http(s) URL; ${usage}`, 2);
if (!values['client-id'] || !values['client-secret']) fail(`--client-id and --client-secret are required; ${usage}`, 2);
const timeoutMs = Number(values['timeout-ms']);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) fail('--timeout-ms must be a positive integer', 2);

const label = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;
const print = (result: CheckResult) => {
  process.stdout.write(`${label[result.status]}  ${result.name.padEnd(9)}  ${result.detail}\n`);
  if (result.hint) process.stdout.write(`      hint: ${result.hint}\n`);
};

try {
  const results = await runSelftest({ issuer, clientId: values['client-id'], clientSecret: values['client-secret'], timeoutMs }, print);
  const failed = results.filter((result) => result.status === 'fail').length;
  process.stdout.write(failed === 0 ? `all checks passed against ${issuer}\n` : `${failed} check(s) failed against ${issuer}\n`);
  process.exit(failed === 0 ? 0 : 1);
} catch (error) {
  fail(`selftest stopped: ${(error as Error).message}`, 1);
}
