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
  ['console'],
  ['cli']
]
const influxdbLayers = [['http', 'backends'], ['leases'], ['gate'], ['inlet']]
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
    })),
    // Inside influxdb: the inlet above the gate, above the leases, above the backends and the HTTP machinery.
    ...influxdbLayers.slice(0, -1).map((layer, i) => ({
      name: `influxdb-${layer.join('-')}`,
      severity: 'error',
      comment: `influxdb/${layer.join(', ')} may not import from a part above it`,
      from: { path: `^src/influxdb/(${layer.join('|')})/` },
      to: { path: `^src/influxdb/(${influxdbLayers.slice(i + 1).flat().join('|')})/` }
    }))
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true
  }
}
