import { expectArray, expectString, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'

/** Transport types, as in Ockam: 0 is a worker in this process, 1 is a TCP peer `host:port`. */
export const LOCAL = 0
export const TCP = 1

export const MAX_ADDRESS_LENGTH = 256
export const MAX_ROUTE_LENGTH = 32

export interface Address {
  readonly type: number
  readonly value: string
}

export type Route = readonly Address[]

export const local = (value: string): Address => ({ type: LOCAL, value })
export const tcp = (hostPort: string): Address => ({ type: TCP, value: hostPort })

export function addressToString(a: Address): string {
  return `${a.type}#${a.value}`
}

export function routeToString(route: Route): string {
  return route.map(addressToString).join(' => ')
}

export function encodeRoute(route: Route): unknown[] {
  return route.map((a) => [a.type, a.value])
}

export function decodeRoute(value: unknown, what: string): Address[] {
  const items = expectArray(value, what)
  if (items.length > MAX_ROUTE_LENGTH) throw new DecodeError(`${what}: more than ${MAX_ROUTE_LENGTH} hops`)
  return items.map((item, i) => {
    const [type, v] = expectArray(item, `${what}[${i}]`, 2)
    return { type: expectUint(type, `${what}[${i}].type`), value: expectString(v, `${what}[${i}].value`, MAX_ADDRESS_LENGTH) }
  })
}
