import { environmentOverrides, type EnvironmentType } from './environment.js';
import { configJsonSchema, type JsonSchemaNode } from './json-schema.js';

/** Where the generated reference lives and the command that writes it. */
export const referenceFile = 'docs/configuration.md';
export const referenceCommand = 'npm run -s config-reference';

interface Row {
  path: string;
  node: JsonSchemaNode;
  required: boolean;
}

interface Table {
  /** Path of the object its rows belong to ('' for the top level). */
  path: string;
  description: string | undefined;
  rows: Row[];
}

const largestSafe = Number.MAX_SAFE_INTEGER;

/**
 * docs/configuration.md, from the config schema: one table per object (the top level, each
 * section, a client, a user, ...), each field with its type, default, environment variable and
 * description. Any section the schema gains appears without a change here; a field without a
 * description is an error, so none is left unexplained.
 */
export function renderConfigReference(root: JsonSchemaNode = configJsonSchema()): string {
  const tables: Table[] = [];
  collectTables(root, '', root.description, tables);
  const undescribed = tables.flatMap(({ rows }) => rows.filter(({ node }) => !node.description).map(({ path }) => path));
  if (undescribed.length) throw new Error(`config fields without a description (add .describe() in the schema): ${undescribed.join(', ')}`);
  return [...preamble(), ...environmentTable(), ...tables.flatMap(renderTable)].join('\n');
}

function collectTables(node: JsonSchemaNode, path: string, description: string | undefined, tables: Table[]): void {
  const table: Table = { path, description, rows: [] };
  tables.push(table);
  const nested: Array<() => void> = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const childPath = path ? `${path}.${key}` : key;
    if (child.properties) {
      nested.push(() => collectTables(child, childPath, child.description, tables));
      // A section has its own heading; an object within one (a client's jwks) also has a row.
      if (!path) continue;
    }
    table.rows.push({ path: childPath, node: child, required: node.required?.includes(key) ?? false });
    const items = child.items;
    if (items?.properties) nested.push(() => collectTables(items, `${childPath}[]`, child.description, tables));
  }
  for (const visit of nested) visit();
}

function preamble(): string[] {
  return [
    '# Configuration reference',
    '',
    `<!-- Generated from the zod schema (src/config/schema.ts, src/config/schema/*.ts) by \`${referenceCommand}\`: do not edit by hand. -->`,
    '',
    'The server reads the JSON file named by `CONFIG_FILE` (default `config/default.json`), then the',
    'environment variables below, which override the file. Every object is strict: an unknown key',
    '(a misspelt option) stops start-up with its path, as does any invalid value; a bad environment',
    'value is reported under its variable. `npm run -s check-config` (in the image:',
    '`node dist/main.js --check-config`) validates a configuration, prints what it would serve and',
    'its warnings, and exits 1 on an error.',
    '',
    'A section left out gets every default below; a section given in part gets the defaults of the',
    'fields it leaves out.',
    '',
  ];
}

const environmentValues: Record<EnvironmentType, string> = {
  string: 'a string, checked as the field is',
  boolean: '`true`, `false`, `1` or `0`',
  integer: 'an integer (digits only), in the range of the field',
  trustProxy: '`true`, `false`, or comma-separated addresses/CIDRs',
  list: 'comma-separated values',
  hostPortList: 'comma-separated `host:port` (or `[v6]:port`)',
};

function environmentTable(): string[] {
  return [
    '## Environment variables',
    '',
    '| variable | sets | value |',
    '| --- | --- | --- |',
    '| `CONFIG_FILE` | the file to read | a path; default `config/default.json` |',
    ...environmentOverrides.map(({ name, path, type }) => `| \`${name}\` | \`${path.join('.')}\` | ${environmentValues[type]} |`),
    '',
  ];
}

function renderTable(table: Table): string[] {
  if (!table.rows.length) return [];
  return [
    `## ${table.path ? `\`${table.path}\`` : 'Top level'}`,
    '',
    ...(table.description ? [cell(table.description), ''] : []),
    '| path | type | default | environment | description |',
    '| --- | --- | --- | --- | --- |',
    ...table.rows.map(
      (row) =>
        `| \`${row.path}\` | ${cell(typeOf(row.node))} | ${defaultOf(row)} | ${environmentOf(row.path)} | ${cell(row.node.description ?? '')} |`,
    ),
    '',
  ];
}

function environmentOf(path: string): string {
  const override = environmentOverrides.find((candidate) => candidate.path.join('.') === path);
  return override ? `\`${override.name}\`` : '';
}

function defaultOf({ node, required }: Row): string {
  if (node.default !== undefined) return `\`${JSON.stringify(node.default)}\``;
  return required ? 'required' : '(none)';
}

/** A table cell: one line, a literal pipe escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** The type in words: `integer, 0 to 65535`, `list of: ES256, ES384`, `boolean or string`. */
export function typeOf(node: JsonSchemaNode): string {
  if (node.anyOf) return node.anyOf.map(typeOf).join(' or ');
  if (node.enum) return `one of ${node.enum.map((value) => `\`${String(value)}\``).join(', ')}`;
  const type = Array.isArray(node.type) ? node.type.join(' or ') : node.type;
  switch (type) {
    case 'integer':
    case 'number':
      return [type, range(node)].filter(Boolean).join(', ');
    case 'string':
      return [node.format === 'uri' ? 'URL' : 'string', length(node)].filter(Boolean).join(', ');
    case 'array': {
      const items = node.items ? typeOf(node.items) : 'anything';
      if (node.items?.properties) return `list of objects (below)`;
      return `${node.minItems ? 'non-empty ' : ''}list, each ${items}`;
    }
    case 'object':
      return node.properties ? 'object (below)' : 'object';
    default:
      return type ?? 'anything';
  }
}

function range(node: JsonSchemaNode): string {
  const min =
    node.exclusiveMinimum !== undefined
      ? `more than ${node.exclusiveMinimum}`
      : node.minimum !== undefined && node.minimum > -largestSafe
        ? `at least ${node.minimum}`
        : '';
  const max = node.maximum !== undefined && node.maximum < largestSafe ? node.maximum : undefined;
  if (node.minimum !== undefined && max !== undefined) return `${node.minimum} to ${max}`;
  return [min, max !== undefined ? `at most ${max}` : ''].filter(Boolean).join(', ');
}

function length(node: JsonSchemaNode): string {
  if (node.minLength !== undefined && node.maxLength !== undefined) return `${node.minLength} to ${node.maxLength} characters`;
  if (node.minLength === 1) return 'not empty';
  if (node.minLength !== undefined) return `at least ${node.minLength} characters`;
  if (node.maxLength !== undefined) return `at most ${node.maxLength} characters`;
  return '';
}
