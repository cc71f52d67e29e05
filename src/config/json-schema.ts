import { z } from 'zod';
import { configSchema } from './schema.js';

/** The parts of a JSON Schema node that z.toJSONSchema writes for this config. */
export interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: boolean | JsonSchemaNode;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
}

let converted: JsonSchemaNode | undefined;

/**
 * The config schema as JSON Schema, converted once, as a file is written (`io: 'input'`):
 * descriptions, defaults, bounds and the allowed keys of each object. Refinements are not
 * representable and are left out; the zod schema remains what validates.
 */
export function configJsonSchema(): JsonSchemaNode {
  converted ??= z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'throw' }) as JsonSchemaNode;
  return converted;
}

/** The node that describes the value at `path` (object keys, array indexes), if the schema has one. */
export function jsonSchemaNodeAt(path: readonly PropertyKey[], root = configJsonSchema()): JsonSchemaNode | undefined {
  let node: JsonSchemaNode | undefined = root;
  for (const key of path) {
    if (!node) return undefined;
    node = typeof key === 'number' ? node.items : node.properties?.[String(key)];
  }
  return node;
}
