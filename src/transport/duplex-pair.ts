import { Duplex } from 'node:stream'

/** Two connected in-memory streams: what one writes, the other reads (Node 20 has no duplexPair). */
export function duplexPair(): [Duplex, Duplex] {
  const ends: { a?: Duplex; b?: Duplex } = {}
  const make = (other: () => Duplex | undefined): Duplex => new Duplex({
    read() { /* data is pushed by the other side's write */ },
    write(chunk: Buffer, _enc, callback) {
      other()?.push(chunk)
      callback()
    },
    final(callback) {
      other()?.push(null)
      callback()
    },
    destroy(err, callback) {
      const o = other()
      if (o !== undefined && !o.destroyed) o.destroy()
      callback(err)
    }
  })
  const a = make(() => ends.b)
  const b = make(() => ends.a)
  ends.a = a
  ends.b = b
  return [a, b]
}
