// npm run lint (with knip): type-aware rules, typescript-eslint's recommendedTypeChecked, over the
// TypeScript of the package, its tests, benchmarks, demo, examples and scripts. Lint rules only:
// formatting stays as written. Each rule turned off below says why on its line.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', '.cache/', 'test-output/', 'scratch/', 'test/package/consumer/', 'visualizer/page/']),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // discord-api-types' enums hold the wire values; comparing them with the numbers and names read off the wire is the point.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Every hit stringifies a value typed unknown (a close reason, a bad option, a raw frame) on purpose, for a message.
      '@typescript-eslint/no-base-to-string': 'off',
      // Stores, queues and fakes are async to keep their Promise contract (a throw becomes a rejection), not to await.
      '@typescript-eslint/require-await': 'off',
      // A `let` read by a closure before its one assignment, or destructured beside a reassigned name, stays a `let`.
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }],
      // Leading underscores name values dropped on purpose; rest siblings strip keys from an options object.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // A double cast switches the type checker off; the package's own code does without one.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            ":matches(TSAsExpression, TSTypeAssertion)[expression.type=/^(TSAsExpression|TSTypeAssertion)$/][expression.typeAnnotation.type='TSUnknownKeyword']",
          message: 'No `as unknown as` in src/: narrow with a type guard, or fix the type.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and benchmarks read JSON.parse'd frames and vitest's asymmetric matchers, which are `any` by design.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Tests compare and hand on method references on purpose (`expect(protocol.decode).toBe(...)`, ts.sys.readFile).
      '@typescript-eslint/unbound-method': 'off',
      // The model worlds hand `this` to logic that XState calls with its own `this`.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
);
