// Mutation testing of the security-critical modules (`npm run test:mutation`, outside CI's default
// run: it takes long). Each module is mutated alone and judged by the tests that cover it;
// MUTATION_MODULE picks one (scripts/mutation.ts runs them all and prints the scores).
const modules = {
  'transport-cipher': { mutate: ['src/channel/transport-cipher.ts', 'src/channel/replay-window.ts'], tests: ['test/unit/transport-cipher.test.ts'] },
  policy: { mutate: ['src/policy/evaluate.ts'], tests: ['test/unit/policy.test.ts', 'test/unit/policy-evaluate.test.ts'] },
  'credential-stripping': { mutate: ['src/influxdb/http/forwarding.ts'], tests: ['test/unit/forwarding.test.ts', 'test/unit/forwarding-edges.test.ts', 'test/unit/clean-path.property.test.ts'] },
  'influxql-gate': { mutate: ['src/influxdb/gate/influxql-scanner.ts', 'src/influxdb/gate/influxql-gate.ts'], tests: ['test/unit/influxql-gate.property.test.ts', 'test/unit/influxql-tokens.test.ts', 'test/unit/influxql-statements.test.ts'] },
  'api-gate': { mutate: ['src/influxdb/gate/api-gate.ts', 'src/influxdb/gate/lease-scope.ts', 'src/influxdb/gate/query-params.ts'], tests: ['test/unit/api-gate.test.ts'] },
  'grant-scope': { mutate: ['src/authority/grant-scope.ts'], tests: ['test/unit/grant-scope.test.ts', 'test/loopback/authority.test.ts'] },
  'lease-manager': { mutate: ['src/influxdb/leases/lease-manager.ts'], tests: ['test/loopback/lease-manager.test.ts'] },
  authority: { mutate: ['src/authority/authority-service.ts'], tests: ['test/loopback/authority.test.ts', 'test/loopback/authority-rpc.test.ts'] },
  'secure-channel': { mutate: ['src/channel/secure-channel.ts'], tests: ['test/loopback/secure-channel.test.ts', 'test/loopback/secure-channel-lifecycle.test.ts', 'test/loopback/keep-alive.test.ts', 'test/loopback/keep-alive-rate.test.ts', 'test/loopback/hostile.test.ts'] }
}

const name = process.env.MUTATION_MODULE ?? 'transport-cipher'
const m = modules[name]
if (m === undefined) throw new Error(`MUTATION_MODULE must be one of ${Object.keys(modules).join(', ')}`)

export default {
  testRunner: 'command',
  commandRunner: { command: `node --import tsx --test --test-concurrency=1 ${m.tests.join(' ')}` },
  mutate: m.mutate,
  coverageAnalysis: 'off',
  concurrency: 2,
  timeoutMS: 5_000,
  reporters: ['json', 'clear-text', 'progress-append-only'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { reportTests: false, reportMutants: true, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['reports', 'dist', '.stryker-tmp'],
  disableTypeChecks: true,
  plugins: []
}
