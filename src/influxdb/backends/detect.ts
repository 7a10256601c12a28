import { BackendError, call, DatabaseUnavailableError, type Endpoint } from './http.js'

export type ApiVersion = 'v1' | 'v2' | 'v3'

/**
 * `api: auto` reads `X-Influxdb-Version` from `/ping`: 1.x is v1, 2.x (and Cloud) is v2, 3.x is v3.
 * InfluxDB 3 Enterprise answers `/ping` only to an authenticated caller, so a 401 is asked again
 * with the configured token (Bearer: the scheme InfluxDB 3 takes on every endpoint).
 */
export async function detectApi(endpoint: Endpoint, signal?: AbortSignal, token?: string): Promise<ApiVersion> {
  let r = await call(endpoint, 'GET', '/ping', {}, undefined, signal)
  if (r.status === 401 && token !== undefined) r = await call(endpoint, 'GET', '/ping', { authorization: `Bearer ${token}` }, undefined, signal)
  // A proxy or load balancer in front of a database that is (re)starting.
  if (r.status >= 500) throw new DatabaseUnavailableError(`the database at ${endpoint.to} answered /ping with ${r.status}`, r.status)
  const raw = r.headers['x-influxdb-version']
  const version = ((Array.isArray(raw) ? raw[0] : raw) ?? '').toLowerCase().replace(/^v/, '')
  if (version.startsWith('1.')) return 'v1'
  if (version.startsWith('2.') || version.includes('cloud')) return 'v2'
  if (version.startsWith('3.')) return 'v3'
  const why = r.status === 401 ? ' (/ping wants a token: set all-access-token)' : ''
  throw new BackendError(`cannot tell the InfluxDB API version from /ping (X-Influxdb-Version: '${version.slice(0, 40)}')${why}; set api: v1, v2 or v3`)
}
