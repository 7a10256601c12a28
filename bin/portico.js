#!/usr/bin/env -S node --initial-heap-size=64 --no-concurrent-array-buffer-sweeping
// Checked before anything loads: the influxdb inlet drives the HTTP parser inside node:http, so a
// Node.js this version was not tested on is refused with a clear message, not a failure later.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major !== 20 || minor < 19) {
  process.stderr.write(`error: portico runs on Node.js 20 (20.19 or later), the version it is tested on; this is ${process.version} (unsupported-node)\n`)
  process.exit(2)
}
const { main } = await import('../dist/cli/main.js')
await main(process.argv)
