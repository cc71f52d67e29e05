import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { environmentOverrides } from '../../src/config/environment.js';
import { configJsonSchema, type JsonSchemaNode } from '../../src/config/json-schema.js';
import { referenceCommand, referenceFile, renderConfigReference } from '../../src/config/reference.js';

/** Every field path of the schema as the reference writes it (`clients[].client_id`). */
function fieldPaths(node: JsonSchemaNode, prefix = ''): string[] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const nested = child.properties ? fieldPaths(child, path) : child.items?.properties ? fieldPaths(child.items, `${path}[]`) : [];
    // A top-level section is a heading, every other field a row.
    return child.properties && !prefix ? nested : [path, ...nested];
  });
}

describe(`${referenceFile}, generated from the config schema`, () => {
  const committed = readFileSync(referenceFile, 'utf8');

  it('is current', () => {
    expect(committed === renderConfigReference(), `${referenceFile} is stale: run \`${referenceCommand}\` and commit it`).toBe(true);
  });

  it('has a row for every field of the schema, with its type, default and description', () => {
    const paths = fieldPaths(configJsonSchema());
    expect(paths).toContain('clients[].dpop_bound_access_tokens');
    expect(paths).toContain('users[].claims.address.country');
    for (const path of paths)
      expect(committed, path).toMatch(
        new RegExp(`^\\| \`${path.replace(/[.[\]]/g, '\\$&')}\` \\| [^|]+ \\| [^|]+ \\| [^|]* \\| [^|]+ \\|$`, 'm'),
      );
    expect(committed).toContain('| `http.port` | integer, 0 to 65535 | `8080` | `PORT` | TCP port to listen on. |');
    expect(committed).toContain(
      '| `clients[].client_id` | string, 1 to 200 characters | required |  | The client identifier, unique among clients. |',
    );
  });

  it('names each environment variable on the row of the field it sets', () => {
    for (const { name, path } of environmentOverrides) {
      expect(committed, name).toMatch(new RegExp(`^\\| \`${path.join('\\.')}\` \\|[^\\n]*\\| \`${name}\` \\|`, 'm'));
    }
  });

  it('picks up a section the schema gains, with its heading and table', () => {
    const schema = z.strictObject({
      audit: z
        .strictObject({
          enabled: z.boolean().default(false).describe('Keep an audit trail.'),
          port: z.number().int().min(1).max(65535).default(9464).describe('Port of the audit listener.'),
        })
        .prefault({})
        .describe('An audit trail.'),
    });
    const rendered = renderConfigReference(z.toJSONSchema(schema, { io: 'input' }) as JsonSchemaNode);
    expect(rendered).toContain(
      [
        '## `audit`',
        '',
        'An audit trail.',
        '',
        '| path | type | default | environment | description |',
        '| --- | --- | --- | --- | --- |',
        '| `audit.enabled` | boolean | `false` |  | Keep an audit trail. |',
        '| `audit.port` | integer, 1 to 65535 | `9464` |  | Port of the audit listener. |',
      ].join('\n'),
    );
  });

  it('refuses to render a field without a description', () => {
    const schema = z.strictObject({ audit: z.strictObject({ host: z.string().default('127.0.0.1') }).prefault({}) });
    expect(() => renderConfigReference(z.toJSONSchema(schema, { io: 'input' }) as JsonSchemaNode)).toThrow(
      'config fields without a description (add .describe() in the schema): audit.host',
    );
  });
});
