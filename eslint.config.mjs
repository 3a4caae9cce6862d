// The layering STYLE.md describes, checked rather than remembered: dependencies point inward
// (host -> gateway -> core), the wire protocol depends on nothing, and the dashboard reaches
// the extension only through that protocol. Formatting is prettier's (npm run format).
import tseslint from 'typescript-eslint';

const node = ['node:*', 'fs', 'fs/*', 'path', 'http', 'https', 'net', 'os', 'child_process', 'worker_threads', 'crypto', 'stream', 'util'];

/** A no-restricted-imports rule from (pattern, why) pairs. */
function forbid(...entries) {
  return {
    'no-restricted-imports': ['error', { patterns: entries.map(([group, message]) => ({ group, message })) }],
  };
}

export default tseslint.config(
  { ignores: ['**/node_modules/', 'dist/', 'out/', '.e2e/', 'webview-ui/dist/', 'webview-ui/preview/preview.js', 'coverage/'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: forbid(
      [['vscode'], 'src/core never imports vscode: the extension is a thin shell over it.'],
      [['express', 'express/*'], 'src/core never imports express: the gateway adapts it to HTTP.'],
      [['**/gateway/**', '**/host/**', '**/extension', '**/cli'], 'src/core depends on nothing above it (gateway, host, extension, cli).'],
    ),
  },
  {
    files: ['src/gateway/**/*.ts'],
    rules: forbid(
      [['vscode'], 'src/gateway never imports vscode.'],
      [['**/host/**', '**/extension'], 'src/gateway depends on core, not on the extension host.'],
    ),
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: forbid(
      [['vscode', 'express', 'express/*', ...node], 'src/shared/protocol.ts is plain types and constants: it depends on nothing.'],
      [['../*', './*'], 'src/shared/protocol.ts depends on nothing.'],
    ),
  },
  {
    files: ['webview-ui/src/**/*.ts'],
    rules: forbid(
      [['vscode', 'express', 'express/*', ...node], 'The dashboard runs in a webview: no Node, no vscode.'],
      [
        ['**/src/core/**', '**/src/gateway/**', '**/src/host/**'],
        'The dashboard talks to the extension only through src/shared/protocol.ts.',
      ],
    ),
  },
);
