// @ts-check
import tseslint from 'typescript-eslint';

/**
 * A small rule set, on purpose: what catches bugs a user would hit (a promise nobody awaits or
 * catches, an async function where a callback's result is ignored), dead code, and imports
 * that say which are types. Style is left to the authors. Typed rules read each workspace's
 * tsconfig.json through TypeScript's project service.
 */
export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      '**/.turbo/**',
      '**/coverage/**',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        // The root tsconfig.json includes every file (workspace config files too), but not
        // dot-folders such as .ci/.
        projectService: { allowDefaultProject: ['.ci/*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // What the deployables' bundles are made of: zod is bundled, and a named `z` keeps all of it
    // (packages/build/src/bundle.ts, bundledPackages).
    files: ['packages/*/src/**/*.ts', 'subgraphs/*/src/**/*.ts', 'gateway/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier[imported.name='z'][importKind!='type']",
          message: "import * as z from 'zod': a named z keeps all of zod in the bundles (packages/build/src/bundle.ts).",
        },
      ],
    },
  },
);
