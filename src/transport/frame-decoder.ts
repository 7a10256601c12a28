import { DecodeError } from '../encoding/errors.js'
import { joinParts, shiftParts } from '../encoding/parts.js'
import type { ErrorKind } from '../util/errors.js'

/** The routing protocol version; the first byte each side sends on a new connection. */
export const PROTOCOL_VERSION = 1
/** Largest frame body: a 48 KiB portal chunk inside two channel layers with room to spare. */
export const MAX_FRAME_SIZE = 256 * 1024
export const FRAME_HEADER_LENGTH = 4

export class FrameTooLargeError extends DecodeError {
  override readonly code: string = 'frame-too-large'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'FrameTooLargeError'
}

export class VersionError extends DecodeError {
  override readonly code: string = 'version'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'VersionError'
}

/** `u32 BE length ‖ body`. A zero-length frame is a heartbeat. */
export function frameHeader(length: number): Uint8Array {
  if (length > MAX_FRAME_SIZE) throw new FrameTooLargeError(`frame of ${length} bytes exceeds ${MAX_FRAME_SIZE}`)
  const h = Buffer.allocUnsafe(FRAME_HEADER_LENGTH)
  h.writeUInt32BE(length, 0)
  return h
}

/**
 * Incremental decoder for a byte stream: the version byte, then frames. Pure: feed it chunks,
 * get whole frame bodies back. The length is checked against MAX_FRAME_SIZE before any buffer
 * for the body exists, so a peer cannot make us allocate what it claims.
 */
export class FrameDecoder {
  private chunks: Buffer[] = []
  private buffered = 0
  private versionSeen = false

  constructor(private readonly maxFrameSize = MAX_FRAME_SIZE) {}

  /** Returns complete frame bodies (heartbeats as empty arrays); throws DecodeError on bad input. */
  push(chunk: Buffer): Uint8Array[] {
    return this.pushParts(chunk).map((parts) => joinParts(parts))
  }

  /**
   * The same frames, each as the pieces of the reads it arrived in (none for a heartbeat), so a
   * frame that spans reads is not copied to be joined: whoever passes it on can write the pieces.
   */
  pushParts(chunk: Buffer): Buffer[][] {
    if (chunk.byteLength === 0) return []
    this.chunks.push(chunk)
    this.buffered += chunk.byteLength
    const out: Buffer[][] = []
    if (!this.versionSeen) {
      const version = this.peek(1)[0]
      if (version !== PROTOCOL_VERSION) throw new VersionError(`unsupported protocol version ${String(version)}`)
      this.consume(1)
      this.versionSeen = true
    }
    while (this.buffered >= FRAME_HEADER_LENGTH) {
      const length = this.peek(FRAME_HEADER_LENGTH).readUInt32BE(0)
      if (length > this.maxFrameSize) throw new FrameTooLargeError(`frame of ${length} bytes exceeds ${this.maxFrameSize}`)
      if (this.buffered < FRAME_HEADER_LENGTH + length) break
      this.consume(FRAME_HEADER_LENGTH)
      this.buffered -= length
      out.push(shiftParts(this.chunks, length))
    }
    return out
  }

  get pendingBytes(): number {
    return this.buffered
  }

  /**
   * The first `n` buffered bytes. When they span chunks, exactly those `n` are joined (the rest of
   * the last chunk stays where it is), so each byte is copied at most once however frames and
   * socket reads interleave.
   */
  private peek(n: number): Buffer {
    const first = this.chunks[0]
    if (first !== undefined && first.byteLength >= n) return first
    const joined = Buffer.allocUnsafe(n)
    let at = 0
    let used = 0
    let tail: Buffer | undefined
    for (const c of this.chunks) {
      const take = Math.min(c.byteLength, n - at)
      joined.set(take === c.byteLength ? c : c.subarray(0, take), at)
      at += take
      used++
      if (take < c.byteLength) tail = c.subarray(take)
      if (at === n) break
    }
    if (at < n) throw new Error('frame decoder: fewer bytes buffered than counted')
    if (tail === undefined) this.chunks.splice(0, used, joined)
    else this.chunks.splice(0, used, joined, tail)
    return joined
  }

  private consume(n: number): Buffer {
    const first = this.peek(n)
    const out = first.subarray(0, n)
    const rest = first.subarray(n)
    if (rest.byteLength === 0) this.chunks.shift()
    else this.chunks[0] = rest
    this.buffered -= n
    return out
  }
}
