import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { isObject } from '../lib/syntax.js';
import { configFileVariable, convertEnvironmentValue, environmentOverrides, type EnvironmentOverride } from './environment.js';
import { unknownKeyProblem } from './unknown-keys.js';
import { configSchema, type Config } from './schema.js';

export { environmentOverrides } from './environment.js';

/** A configuration that cannot be used; `problems` holds one line per offending field or variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = []) {
    super(problems.length ? `${message}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}` : message);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type RawObject = Record<string, unknown>;

/**
 * Every environment variable the loader reads: CONFIG_FILE and the overrides. Deployment files
 * are checked against it (test/unit/deploy-files.test.ts), so none sets a variable nothing reads.
 */
export const environmentVariables: readonly string[] = [configFileVariable, ...environmentOverrides.map(({ name }) => name)];

function setPath(raw: RawObject, path: readonly string[], value: unknown): void {
  let node = raw;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    node = isObject(child) ? child : ((node[key] = {}) as RawObject);
  }
  node[path[path.length - 1]!] = value;
}

export const defaultConfigFile = 'config/default.json';

/** The config file the loader reads for this environment. */
export function configFileOf(env: NodeJS.ProcessEnv): string {
  return env[configFileVariable] || defaultConfigFile;
}

/** Reads the config file named by CONFIG_FILE (or config/default.json), applies env overrides, validates. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = configFileOf(env);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!isObject(raw)) throw new ConfigError(`config: ${file} must hold a JSON object`);
  const applied: EnvironmentOverride[] = [];
  const environmentProblems: string[] = [];
  for (const override of environmentOverrides) {
    const value = env[override.name];
    if (value === undefined || value === '') continue;
    const converted = convertEnvironmentValue(override.type, value);
    if (converted.ok) {
      setPath(raw, override.path, converted.value);
      applied.push(override);
    } else {
      environmentProblems.push(`${variableLabel(override)}: ${converted.message}`);
    }
  }
  return validate(raw, file, applied, environmentProblems);
}

/** Validates a raw config object; the error names each offending field by its path. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  return validate(raw, source, [], []);
}

function validate(raw: unknown, source: string, applied: readonly EnvironmentOverride[], environmentProblems: string[]): Config {
  const result = configSchema.safeParse(raw);
  const fileProblems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      // A value the environment set is reported as its variable: the file is not to blame.
      const override = applied.find(({ path }) => path.every((key, index) => issue.path[index] === key));
      if (override) environmentProblems.push(`${variableLabel(override)}: ${issue.message}`);
      else fileProblems.push(...describeIssue(issue));
    }
  }
  if (fileProblems.length || environmentProblems.length) {
    const where = [fileProblems.length && source, environmentProblems.length && 'the environment'].filter(Boolean).join(' and ');
    throw new ConfigError(`invalid configuration in ${where}`, [...fileProblems, ...environmentProblems]);
  }
  return result.data!;
}

function variableLabel({ name, path }: EnvironmentOverride): string {
  return `${name} (${path.join('.')})`;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownKeyProblem(issue.path, key));
  return [`${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`];
}
