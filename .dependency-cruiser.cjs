// Imports go downward only and never in circles; `npm run check:imports` (part of `npm test`)
// keeps it so. The layers, lowest first, as docs/architecture.md lists them.
const layers = [
  ['util', 'encoding', 'log'],
  ['crypto'],
  ['identity'],
  ['routing'],
  ['transport'],
  ['channel'],
  ['policy', 'store'],
  ['services'],
  ['authority', 'relay', 'portal'],
  ['influxdb'],
  ['node'],
  ['cli']
]
const folders = (names) => `^src/(${names.join('|')})/`

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a circle of imports hides which module is the lower one', from: {}, to: { circular: true } },
    ...layers.slice(0, -1).map((layer, i) => ({
      name: `layer-${layer.join('-')}`,
      severity: 'error',
      comment: `${layer.join(', ')} may not import from a layer above it`,
      from: { path: folders(layer) },
      to: { path: folders(layers.slice(i + 1).flat()) }
    }))
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true
  }
}
