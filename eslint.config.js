// ESLint: typed rules everywhere, and the folder layering of ARCHITECTURE.md made mechanical.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/**
 * Import rules per folder: what each layer must never reach. Package names are exact `paths` (a
 * pattern `crypto` would also match `./crypto/x`); folders are glob `patterns`.
 */
const forbid = (groups, message) => {
  const isPackage = (g) => !g.includes('/') || g.startsWith('node:');
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: groups.filter(isPackage).map((name) => ({ name, message })),
        patterns: [{ group: groups.filter((g) => !isPackage(g)), message }],
      },
    ],
  };
};

const CHILD_PROCESS =
  'Start processes through platform/commands.ts (ExecRunner, runSync) or platform/processes.ts (spawnProcess, spawnChild, forkNode): only platform/ imports node:child_process (see ARCHITECTURE.md).';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'test-output/', 'test/fixtures/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['shared/**/*.ts'],
    rules: forbid(
      [
        ...nodeBuiltins,
        'electron',
        'pino',
        'react',
        '**/agent/**',
        '**/main/**',
        '**/renderer/**',
        '**/lab/**',
        '**/test/**',
      ],
      'shared/ is isomorphic: only zod, @noble/* and other shared/ modules (see ARCHITECTURE.md).',
    ),
  },
  {
    files: ['agent/**/*.ts'],
    rules: forbid(
      ['electron', 'react', '**/main/**', '**/renderer/**', '**/lab/**', '**/test/**'],
      'agent/ may import shared/ and Node only (see ARCHITECTURE.md).',
    ),
  },
  {
    files: ['main/**/*.ts'],
    ignores: ['main/electron/**'],
    rules: forbid(
      ['electron', 'react', '**/agent/**', '**/renderer/**', '**/lab/**', '**/test/**'],
      'main/ may import shared/ and Node only; only main/electron/ imports electron (see ARCHITECTURE.md).',
    ),
  },
  {
    files: ['main/electron/**/*.ts'],
    rules: forbid(
      ['react', '**/agent/**', '**/renderer/**', '**/lab/**', '**/test/**'],
      'main/electron/ is the desktop shell over main/station: it may import shared/, platform/, main/ and Node (see ARCHITECTURE.md).',
    ),
  },
  {
    files: ['renderer/src/**/*.ts', 'renderer/src/**/*.tsx'],
    rules: forbid(
      [...nodeBuiltins, 'electron', '**/agent/**', '**/main/**', '**/lab/**', '**/test/**'],
      'renderer/ may import shared/ types, React and its bridge module only (see ARCHITECTURE.md).',
    ),
  },
  {
    files: ['platform/**/*.ts'],
    rules: forbid(
      ['electron', 'react', '**/agent/**', '**/main/**', '**/renderer/**', '**/lab/**', '**/test/**'],
      'platform/ is Node code under agent/, main/ and lab/: it may import shared/ and Node only (see ARCHITECTURE.md).',
    ),
  },
  {
    files: ['lab/**/*.ts'],
    rules: forbid(['electron', '**/test/**'], 'lab/ is imported by tests and the demo, never the reverse.'),
  },
  {
    // Processes are started in platform/ only (platform/commands.ts, platform/processes.ts): one place
    // keeps no shell, argument arrays, timeouts, LC_ALL=C and secrets off argv. A rule of its own
    // (typescript-eslint's copy of no-restricted-imports), so the folder rules above do not replace it.
    // Exempt: test/ (tests drive real children) and scripts/ (plain .mjs build tools that cannot
    // import platform/'s TypeScript).
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.mjs', '**/*.cjs'],
    ignores: ['platform/**', 'test/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['node:child_process', 'child_process'].map((name) => ({ name, message: CHILD_PROCESS })),
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/^(node:)?child_process$/]',
          message: CHILD_PROCESS,
        },
        {
          selector: "CallExpression[callee.name='require'][arguments.0.value=/^(node:)?child_process$/]",
          message: CHILD_PROCESS,
        },
      ],
    },
  },
);
