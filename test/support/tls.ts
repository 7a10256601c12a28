import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** A self-signed certificate, as a test server's own CA. */
export interface TestCertificate {
  keyFile: string
  certFile: string
  key: Buffer
  cert: Buffer
}

/**
 * Writes key.pem and cert.pem into `dir` (openssl, as an operator would), for the given subject
 * alternative names (by default 127.0.0.1 and localhost).
 */
export function selfSignedCertificate(dir: string, names = ['IP:127.0.0.1', 'DNS:localhost']): TestCertificate {
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '2', '-subj', '/CN=localhost', '-addext', `subjectAltName=${names.join(',')}`], { stdio: 'ignore' })
  return { keyFile, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) }
}
