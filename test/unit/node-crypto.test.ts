import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPrivateKey } from 'node:crypto'
import { nodeCrypto as c } from '../../src/crypto/node-crypto.js'

// Raw key bytes come from the DER encodings: Node 20.20's JWK export of private keys hangs now and
// then. Thousands of generations make a hang (the test's timeout) or a wrong byte show up.
test('generated keys: thousands of each curve, raw bytes agree with the secret', () => {
  for (const curve of ['x25519', 'ed25519'] as const) {
    for (let i = 0; i < 3000; i++) {
      const pair = curve === 'x25519' ? c.x25519Generate() : c.ed25519Generate()
      assert.equal(pair.secretKey.byteLength, 32)
      assert.equal(pair.publicKey.byteLength, 32)
      if (i % 500 === 0) {
        const again = curve === 'x25519' ? c.x25519FromSecret(pair.secretKey) : c.ed25519FromSecret(pair.secretKey)
        assert.deepEqual(again.publicKey, pair.publicKey)
        const jwk = createPrivateKey({ key: Buffer.concat([Buffer.from(curve === 'x25519' ? '302e020100300506032b656e04220420' : '302e020100300506032b657004220420', 'hex'), pair.secretKey]), format: 'der', type: 'pkcs8' })
        assert.equal(jwk.asymmetricKeyType, curve)
      }
    }
  }
  const a = c.x25519Generate()
  const b = c.x25519Generate()
  assert.deepEqual(c.x25519(a.secretKey, b.publicKey), c.x25519(b.secretKey, a.publicKey))
  const sig = c.ed25519Sign(c.ed25519Generate().secretKey, Uint8Array.of(1))
  assert.equal(sig.byteLength, 64)
})
