// ESLint 9 flat config: typescript-eslint's recommended rules, a few type-aware ones, and the
// layering of src/ (docs/architecture.md, "Layers"). Formatting is Prettier's (npm run format).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The top-level parts of src/: directories, and the files at its root. */
const layers = ['lib', 'config', 'stores', 'dpop', 'tokens', 'users', 'oauth', 'http', 'observability', 'cli'];
const rootModules = ['app', 'main', 'reload-keys', 'startup-failure', 'logger'];

/**
 * An import specifier that reaches `target` (a layer, or a path inside one) from any depth of
 * another layer: `../oauth/x.js`, `../../oauth/x.js`. Sub-directory names (grants, memory, routes,
 * schema, ...) never repeat a layer's name, so a relative path cannot be mistaken for another.
 */
const into = (target) => `^(\\.\\./)+${target.replace(/[.]/g, '\\.')}`;

const layerMessage = 'wrong arrow between layers: see the map in docs/architecture.md ("Layers")';

/** `(ports\\.js$|create-stores\\.js$)` → `ports.js, create-stores.js`, for the message. */
const readable = (files) =>
  files
    .replace(/[()$\\]/g, '')
    .split('|')
    .join(', ');

/**
 * The boundary rule of one layer: every other layer is refused but those in `allowed`.
 * `only` narrows an allowed layer to some of its files (a regex after the layer's name),
 * `typesOnly` lets a layer be imported with `import type` and nothing else.
 */
function boundaries({ allowed = [], only = {}, typesOnly = [] }) {
  const patterns = [];
  for (const layer of layers) {
    const narrowed = only[layer];
    if (allowed.includes(layer) && !narrowed) continue;
    patterns.push({
      regex: narrowed ? `${into(layer)}/(?!${narrowed})` : `${into(layer)}/`,
      allowTypeImports: typesOnly.includes(layer),
      message: narrowed ? `${layerMessage}; of src/${layer} only ${readable(narrowed)} may be imported here` : layerMessage,
    });
  }
  // The composition root and the process entry are imported by nothing.
  patterns.push({
    regex: `${into(`(${rootModules.join('|')})`)}\\.js$`,
    message: `${layerMessage}; composition modules are imported by nobody`,
  });
  return { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] };
}

/** Stores ports, and nothing else of src/stores: never an adapter. */
const portsOnly = '(ports\\.js$)';

const layerRules = [
  // A leaf: every layer may use it, so it may use none of them.
  {
    files: ['src/lib/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./', message: `${layerMessage}; src/lib imports nothing of src` }] },
      ],
    },
  },
  { files: ['src/config/**'], rules: boundaries({ allowed: ['lib', 'config'] }) },
  // create-stores.ts and the Redis connection read their own config section (store.*), as types.
  { files: ['src/stores/**'], rules: boundaries({ allowed: ['lib', 'config', 'stores'] }) },
  // The building blocks of the protocol: lib, their config, the ports they are handed.
  ...['dpop', 'tokens', 'users'].map((layer) => ({
    files: [`src/${layer}/**`],
    rules: boundaries({ allowed: ['lib', 'config', layer, 'stores'], only: { stores: portsOnly } }),
  })),
  {
    files: ['src/oauth/**'],
    rules: boundaries({ allowed: ['lib', 'config', 'oauth', 'dpop', 'tokens', 'users', 'stores'], only: { stores: portsOnly } }),
  },
  {
    files: ['src/http/**'],
    rules: boundaries({
      allowed: ['lib', 'config', 'http', 'oauth', 'dpop', 'tokens', 'users', 'stores', 'observability'],
      // Ports only (StoreUnavailableError for the 503, the FailureCounter behind @fastify/rate-limit):
      // a route imports no store. Routes note what they learn for the request log (request-facts.ts).
      only: { stores: portsOnly, observability: '(request-facts\\.js$)' },
    }),
  },
  {
    files: ['src/observability/**'],
    rules: boundaries({
      allowed: ['lib', 'config', 'observability', 'oauth', 'dpop', 'tokens', 'stores', 'http'],
      // Store instrumentation wraps the Stores that create-stores.ts builds (a type) and the ports.
      // register.ts mounts the metrics route on the main port; request facts read form params (a type).
      only: { stores: '(ports\\.js$|create-stores\\.js$)', http: '(form\\.js$|routes/metrics\\.js$)' },
    }),
  },
  // Commands build what they need themselves, but never serve HTTP.
  { files: ['src/cli/**'], rules: boundaries({ allowed: layers.filter((layer) => layer !== 'http') }) },
  // src/app.ts, src/main.ts and the other root modules compose everything: no boundary.
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/peer/**', 'bench/.ab-*/**', 'examples/spa/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Type-aware rules that cost little and catch real bugs: a promise nobody awaits (an
      // unhandled rejection, a write answered before it happened), awaiting a non-promise.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // The selftest's output aligns columns with spaces, and its tests quote lines verbatim.
      'no-regex-spaces': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Plain JavaScript (this file, the benchmark's cluster launcher) is in no tsconfig: no type-aware rules.
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
  ...layerRules,
);
