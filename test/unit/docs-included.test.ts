import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'

// Every example script under docs/examples appears in README.md verbatim, after a marker that
// names it: test/e2e/docs-examples.test.ts runs the scripts, so what the README shows is what ran.
test('README.md shows each docs/examples script verbatim', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const dir = new URL('../../docs/examples/', import.meta.url)
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.sh'))
  assert.ok(scripts.length > 0)
  for (const f of scripts) {
    const marker = `<!-- docs/examples/${f}, verbatim -->\n\`\`\`sh\n`
    const at = readme.indexOf(marker)
    assert.ok(at >= 0, `README.md does not include docs/examples/${f}`)
    const body = readme.slice(at + marker.length, readme.indexOf('```', at + marker.length))
    assert.equal(body, readFileSync(new URL(f, dir), 'utf8'), `README.md's copy of docs/examples/${f} differs from the script`)
  }
})
