import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { local, type Route } from '../routing/address.js'
import { joinedMessage, type LocalMessage, type PartsMessage } from '../routing/message.js'
import { shiftParts, sliceParts } from '../encoding/parts.js'
import type { Router } from '../routing/router.js'
import { TurnCork } from '../transport/turn-cork.js'
import { decodeDataHead, decodePortalMessage, encodeDataHead, encodePortalMessage, PORTAL_CHUNK_BYTES, PORTAL_WINDOW_BYTES, type PortalMessage } from './portal-message.js'

/** Credit is granted back in batches of this many bytes, not per chunk. */
export const CREDIT_BATCH_BYTES = PORTAL_WINDOW_BYTES / 4
/**
 * How long an orderly close waits for the bytes still owed (to the other end, for credit; to our
 * socket, to be written) before it gives up on them: a peer that stopped granting or a client that
 * stopped reading must not hold the connection for ever.
 */
export const PORTAL_FLUSH_MS = 10_000

export interface PortalConnectionOptions {
  router: Router
  log: Logger
  socket: Duplex
  /** This end's worker address. */
  address: string
  /** Where the other end's worker is (through the secure channel). */
  peerRoute: Route
  /** Only messages that came through this secure channel are accepted. */
  channel: string
  /** Bytes the other end allows us to send before it grants more. */
  initialCredit: number
  onClose?: (reason: string) => void
}

/**
 * One TCP connection carried through a portal, at either end. Bytes read from the socket go out
 * as data while we hold credit (the socket is paused when credit runs out, so TCP pushes back on
 * the writer); bytes received are written to the socket and credited back only once the socket
 * has taken them. So no hop ever holds more than one window per connection.
 */
export class PortalConnection {
  private credit: number
  private toGrant = 0
  private paused = false
  private closed = false
  /**
   * Bytes read but not yet sent: less than one chunk, held only until this turn of the event loop
   * has delivered its reads (setImmediate), so that reads and writes arriving together leave as
   * whole chunks. Every message has a fixed cost (an AEAD call per channel layer, a frame, a
   * write), so full chunks are much cheaper per byte; the wait is a fraction of a millisecond.
   */
  private pending: Buffer[] = []
  private pendingBytes = 0
  private flushQueued = false
  /** The socket has ended: `end` is sent once the pending bytes are. */
  private ended = false
  private endSent = false
  /** The other end's socket has ended: everything it will send has been written to ours. */
  private peerEnded = false
  /** Our socket closed in order while bytes it had read still waited for credit: close once they are sent. */
  private closeWhenSent: NodeJS.Timeout | undefined
  bytesIn = 0
  bytesOut = 0

  private readonly returnRoute: Route
  private readonly cork: TurnCork

  constructor(private readonly o: PortalConnectionOptions) {
    this.credit = o.initialCredit
    this.cork = new TurnCork(o.socket)
    this.returnRoute = [local(o.address)]
  }

  start(): void {
    const { router, socket } = this.o
    router.register(this.o.address, { handleMessage: (m) => this.handle(m), handleParts: (m) => this.handleParts(m) }, {
      incoming: (m) => m.secureChannel?.channel === this.o.channel
    })
    socket.on('data', (chunk: Buffer) => this.read(chunk))
    socket.on('end', () => {
      this.ended = true
      this.drain(true)
    })
    socket.on('error', (err) => this.close(`socket error: ${err.message}`))
    socket.on('close', (hadError: boolean) => {
      // A socket that ended and closed in order still owes the other end what it read; a reset owes nothing.
      if (!hadError && this.ended && !this.endSent && !this.closed) {
        this.closeWhenSent = setTimeout(() => this.close('connection closed before its last bytes were credited'), PORTAL_FLUSH_MS).unref()
        return
      }
      this.close('connection closed')
    })
    if (this.credit <= 0) this.pause()
    socket.resume()
  }

  get isClosed(): boolean {
    return this.closed
  }

  close(reason: string, notifyPeer = true): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.closeWhenSent)
    if (notifyPeer) this.send({ kind: 'close', reason })
    this.o.router.unregister(this.o.address)
    this.dispose()
    this.o.log.debug({ connection: this.o.address, reason, bytesIn: this.bytesIn, bytesOut: this.bytesOut }, 'portal connection closed')
    this.o.onClose?.(reason)
  }

  /**
   * Destroys the socket, but after an orderly end from the other end only once the bytes it sent
   * have left our socket (destroy would drop what is still buffered), within PORTAL_FLUSH_MS.
   */
  private dispose(): void {
    const { socket } = this.o
    if (!this.peerEnded || socket.destroyed || socket.writableFinished) {
      socket.destroy()
      return
    }
    socket.pause()
    const bound = setTimeout(() => socket.destroy(), PORTAL_FLUSH_MS).unref()
    socket.once('finish', () => {
      clearTimeout(bound)
      socket.destroy()
    })
  }

  private read(chunk: Buffer): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.byteLength
    this.drain(false)
    if (this.pendingBytes > 0 && !this.flushQueued) {
      this.flushQueued = true
      setImmediate(() => {
        this.flushQueued = false
        this.drain(true)
      })
    }
    if (this.credit <= 0) this.pause()
  }

  /**
   * Sends pending bytes while there is credit: whole chunks, and with `all` the part-chunk left
   * after them too. The last chunk may overdraw the credit by less than a chunk (cutting it to
   * the credit would add a small message to every grant), but never by more, however much one
   * read delivered: an in-memory socket can deliver a megabyte at once (a retried request body).
   */
  private drain(all: boolean): void {
    while (!this.closed && this.credit > 0) {
      const n = Math.min(this.pendingBytes, PORTAL_CHUNK_BYTES)
      if (n === 0 || (!all && n < PORTAL_CHUNK_BYTES)) break
      this.sendData(n)
    }
    // The end goes out after the last of the data, which may have waited for credit.
    if (this.ended && this.pendingBytes === 0 && !this.endSent && !this.closed) {
      this.endSent = true
      this.send({ kind: 'end' })
      if (this.closeWhenSent !== undefined) this.close('connection closed')
    }
  }

  /** Sends the first `n` pending bytes as one data message. */
  private sendData(n: number): void {
    const pieces: Uint8Array[] = shiftParts(this.pending, n)
    this.pendingBytes -= n
    this.credit -= n
    this.bytesOut += n
    // In parts: the channel encrypts straight from the socket's reads, with no copy to join them.
    const head = encodeDataHead(n)
    pieces.unshift(head)
    const sent = this.o.router.sendParts({ onward: this.o.peerRoute, return: this.returnRoute, parts: pieces, length: head.byteLength + n })
    if (!sent) this.close('the secure channel to the other end is gone', false)
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true
      this.o.socket.pause()
    }
  }

  private handle(msg: LocalMessage): void {
    let m: PortalMessage
    try {
      m = decodePortalMessage(msg.payload)
    } catch (err) {
      this.o.log.warn({ connection: this.o.address, err: (err as Error).message }, 'malformed portal message: closing the connection')
      this.close(`malformed portal message: ${(err as Error).message}`)
      return
    }
    switch (m.kind) {
      case 'data':
        this.write([m.bytes], m.bytes.byteLength)
        return
      case 'credit':
        this.credit += m.bytes
        // A part-chunk that is waiting for this turn's reads keeps waiting; one that waited for credit goes.
        this.drain(!this.flushQueued)
        if (this.paused && this.credit > 0) {
          this.paused = false
          this.o.socket.resume()
        }
        return
      case 'end':
        this.peerEnded = true
        this.o.socket.end()
        return
      case 'close':
        this.close(`closed by the other end: ${m.reason}`, false)
        return
      default:
        this.close(`unexpected ${m.kind} on an open connection`)
    }
  }

  /** Data in pieces (it spanned socket reads on the way): written as it is, with one writev. */
  private handleParts(msg: PartsMessage): void {
    const at = dataStart(msg)
    if (at === undefined) this.handle(joinedMessage(msg))
    else this.write(sliceParts(msg.parts, at, msg.length), msg.length - at)
  }

  /**
   * Writes received data to the socket; it is credited back once the socket has taken all of it.
   * The data of all the messages that one read brought leaves together (TurnCork).
   */
  private write(pieces: readonly Uint8Array[], n: number): void {
    this.bytesIn += n
    const { socket } = this.o
    this.cork.hold()
    const last = pieces.length - 1
    pieces.forEach((p, i) => socket.write(p, i === last ? () => this.grant(n) : undefined))
  }

  private grant(n: number): void {
    if (this.closed) return
    this.toGrant += n
    if (this.toGrant >= CREDIT_BATCH_BYTES) {
      this.send({ kind: 'credit', bytes: this.toGrant })
      this.toGrant = 0
    }
  }

  private send(m: PortalMessage): void {
    this.sendPayload(encodePortalMessage(m), m.kind === 'close')
  }

  private sendPayload(payload: Uint8Array, closing: boolean): void {
    const sent = this.o.router.send({ onward: this.o.peerRoute, return: this.returnRoute, payload })
    if (!sent && !closing) this.close('the secure channel to the other end is gone', false)
  }
}

/** Where the data of a data message in pieces starts; undefined for anything else (judged joined). */
function dataStart(msg: PartsMessage): number | undefined {
  const first = msg.parts[0]
  if (first === undefined || msg.parts.length === 1) return undefined
  try {
    return decodeDataHead(first, msg.length)
  } catch {
    return undefined
  }
}
