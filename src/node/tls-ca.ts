import { readFileSync } from 'node:fs'
import { PortalError } from './inlet-route.js'

/** The CA certificate file an outlet's TLS trusts, read at start. */
export function readCa(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined
  try {
    return readFileSync(file)
  } catch (err) {
    throw new PortalError(`cannot read tls-ca-file ${file}: ${(err as Error).message}`)
  }
}
