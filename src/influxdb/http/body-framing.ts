import type { Writable } from 'node:stream'

/** The end of a chunked body: a last chunk of size 0 and no trailer. */
export const LAST_CHUNK = '0\r\n\r\n'

/**
 * Writes a piece of a body, as one chunk of a chunked body or as it is. Returns what the stream's
 * `write` returns: false when it wants no more until 'drain'.
 */
export function writeBodyPiece(stream: Writable, piece: Buffer, chunked: boolean): boolean {
  if (!chunked) return stream.write(piece)
  // Corked, so the chunk's size line, data and end leave together.
  stream.cork()
  stream.write(`${piece.length.toString(16)}\r\n`, 'latin1')
  stream.write(piece)
  const more = stream.write('\r\n', 'latin1')
  stream.uncork()
  return more
}
