// The house rules of gateway/'s imports, checked by test/architecture.test.ts (and by hand with
// `npx depcruise gateway --config .dependency-cruiser.cjs`). A wire is a file directly in gateway/wires/ other
// than index.ts (the registration) and config.ts; wires/shared/ holds what several wires use.
const WIRE = '^gateway/wires/(?!index\\.ts$|config\\.ts$)[^/]+\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import circle among gateway files, type-only imports included.',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { circular: true },
    },
    {
      name: 'wire-imports-wire',
      comment: 'A wire translates one platform to the call contract; what wires share lives in wires/shared/.',
      severity: 'error',
      from: { path: '^gateway/wires/', pathNot: '^gateway/wires/index\\.ts$' },
      to: { path: WIRE },
    },
    {
      name: 'wire-imports-feature',
      comment: 'Wires reach features only through the call contract (commands, admission).',
      severity: 'error',
      from: { path: '^gateway/wires/' },
      to: { path: '^gateway/features/' },
    },
    {
      name: 'feature-imports-wire',
      comment: 'Features see calls through gateway/call/, never a wire.',
      severity: 'error',
      from: { path: '^gateway/features/' },
      to: { path: '^gateway/wires/' },
    },
    {
      name: 'wire-imported-outside-registration',
      comment: 'Only gateway/wires/index.ts names the wires: adding one is one file plus its line there.',
      severity: 'error',
      from: { path: '^gateway/', pathNot: '^gateway/wires/index\\.ts$' },
      to: { path: WIRE },
    },
    {
      name: 'contract-imports-its-users',
      comment: 'gateway/call/ is the contract: wires, features, the control API and the gateway build on it, not it on them.',
      severity: 'error',
      from: { path: '^gateway/call/' },
      to: { path: ['^gateway/wires/', '^gateway/features/', '^gateway/control/', '^gateway/Gateway\\.ts$', '^gateway/app\\.ts$'] },
    },
    {
      name: 'control-imports-gateway',
      comment: 'The control API speaks the call contract (WireContext), like a wire.',
      severity: 'error',
      from: { path: '^gateway/control/' },
      to: { path: ['^gateway/wires/', '^gateway/features/', '^gateway/Gateway\\.ts$'] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|bench|models)/' },
  },
};
