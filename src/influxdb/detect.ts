import { BackendError, call, type Endpoint } from './http.js'

/** `api: auto` reads `X-Influxdb-Version` from `/ping`: 1.x is v1, 2.x (and Cloud) is v2, 3.x is v3. */
export async function detectApi(endpoint: Endpoint, signal?: AbortSignal): Promise<'v1' | 'v2' | 'v3'> {
  const r = await call(endpoint, 'GET', '/ping', {}, undefined, signal)
  const raw = r.headers['x-influxdb-version']
  const version = ((Array.isArray(raw) ? raw[0] : raw) ?? '').toLowerCase().replace(/^v/, '')
  if (version.startsWith('1.')) return 'v1'
  if (version.startsWith('2.') || version.includes('cloud')) return 'v2'
  if (version.startsWith('3.')) return 'v3'
  throw new BackendError(`cannot tell the InfluxDB API version from /ping (X-Influxdb-Version: '${version.slice(0, 40)}'); set api: v1 or v2`)
}
