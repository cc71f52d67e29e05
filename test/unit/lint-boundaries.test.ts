import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

// The project's own eslint.config.js, without the type-aware rules: the files linted here exist
// only in memory, so no tsconfig holds them, and the boundary rule needs no types.
const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: tseslint.configs.disableTypeChecked });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((message) => `${message.ruleId ?? 'parse'}: ${message.message}`);
}

describe('the layering of src/ is enforced by npm run lint (docs/architecture.md, "Layers")', () => {
  it('refuses src/lib importing the protocol layer: src/lib imports nothing of src', async () => {
    const errors = await boundaryErrors(
      'src/lib/new-helper.ts',
      "import { scopeList } from '../oauth/scopes.js';\nexport const a = scopeList;\n",
    );
    expect(errors).toEqual([
      "@typescript-eslint/no-restricted-imports: '../oauth/scopes.js' import is restricted from being used by a pattern. " +
        'wrong arrow between layers: see the map in docs/architecture.md ("Layers"); src/lib imports nothing of src',
    ]);
  });

  it('refuses a DPoP module importing the protocol layer above it', async () => {
    const errors = await boundaryErrors(
      'src/dpop/new-check.ts',
      "import { scopeList } from '../oauth/scopes.js';\nexport const a = scopeList;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('wrong arrow between layers');
  });

  it('refuses a route importing a store adapter, and lets it import the ports', async () => {
    const code = [
      "import { MemoryCodeStore } from '../../stores/memory/code-store.js';",
      "import { StoreUnavailableError } from '../../stores/ports.js';",
      'export const a = [MemoryCodeStore, StoreUnavailableError];',
      '',
    ].join('\n');
    const errors = await boundaryErrors('src/http/routes/new-route.ts', code);
    expect(errors).toEqual([
      "@typescript-eslint/no-restricted-imports: '../../stores/memory/code-store.js' import is restricted from being used by a pattern. " +
        'wrong arrow between layers: see the map in docs/architecture.md ("Layers"); of src/stores only ports.js may be imported here',
    ]);
  });

  it('refuses any layer importing the composition root', async () => {
    const errors = await boundaryErrors('src/oauth/new-grant.ts', "import { buildApp } from '../app.js';\nexport const a = buildApp;\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('composition modules are imported by nobody');
  });

  it('lets the composition root import any layer', async () => {
    const errors = await boundaryErrors(
      'src/new-root.ts',
      "import { MemoryCodeStore } from './stores/memory/code-store.js';\nexport const a = MemoryCodeStore;\n",
    );
    expect(errors).toEqual([]);
  });
});
