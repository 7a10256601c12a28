import { test } from 'node:test'
import { LeaseError } from '../../src/influxdb/leases/lease-types.js'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { HTTP_STATUS, kindOf, PorticoError } from '../../src/util/errors.js'
import { RemoteError, RpcError } from '../../src/services/rpc.js'
import { OutletUnreachableError } from '../../src/node/outlet-channel.js'

// One error taxonomy: every error class Portico exports has PorticoError as its base, a stable
// kebab-case code and a kind, from which callers take an HTTP status or an exit code.

const SRC = new URL('../../src/', import.meta.url).pathname

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return relative(SRC, p) === 'cli' ? [] : modules(p)
    return e.name.endsWith('.ts') ? [p] : []
  })
}

test('every exported error class has the common base, a kebab-case code and a kind', async () => {
  const classes: [string, new (...args: never[]) => Error][] = []
  for (const file of modules(SRC)) {
    const exported = await import(pathToFileURL(file).href) as Record<string, unknown>
    for (const [name, value] of Object.entries(exported)) {
      if (typeof value === 'function' && value.prototype instanceof Error) classes.push([`${relative(SRC, file)}:${name}`, value as new (...args: never[]) => Error])
    }
  }
  assert.ok(classes.length >= 40, `only ${classes.length} error classes found`)
  for (const [where, Cls] of classes) {
    if ((Cls as unknown) === PorticoError) continue
    assert.ok(Cls.prototype instanceof PorticoError, `${where} does not extend PorticoError`)
    // Constructed with a message (and for the few that take more, plausible values).
    let e: PorticoError
    try {
      // The few that take more than a message get plausible values.
      const args: [unknown, unknown] = where.includes('Control') ? [400, 'message'] : where.includes('LeaseUnavailable') ? [1000, { cause: new Error('down') }] : ['message', 'some-code']
      e = new (Cls as unknown as new (a: unknown, b: unknown) => PorticoError)(...args)
    } catch (err) {
      assert.fail(`${where} cannot be made with a message: ${(err as Error).message}`)
    }
    assert.match(e.code, /^[a-z0-9]+(-[a-z0-9]+)*$|^HPE_|^some-code$/, `${where}: code ${e.code}`)
    assert.ok(e.kind in HTTP_STATUS, `${where}: kind ${e.kind}`)
  }
})

test('kinds map to statuses; an RPC answer\'s code gives its kind; anything else is internal', () => {
  assert.equal(HTTP_STATUS[kindOf(new LeaseError('bad template'))], 400)
  assert.equal(HTTP_STATUS[kindOf(new OutletUnreachableError('relay down'))], 503)
  assert.equal(new RemoteError('not-member', 'x').kind, 'refused')
  assert.equal(new RemoteError('not-found', 'x').kind, 'not-found')
  assert.equal(new RpcError('x', 'bad-request').kind, 'bad-input')
  assert.equal(kindOf(new Error('plain')), 'internal')
  assert.equal(kindOf('not even an error'), 'internal')
  const cause = new Error('root')
  assert.equal(new OutletUnreachableError('wrapped', { cause }).cause, cause)
})
