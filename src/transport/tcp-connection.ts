import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { decodeMessage, decodeMessageHead, encodeMessageHead, type LocalMessage, type PartsMessage } from '../routing/message.js'
import { local, type Route } from '../routing/address.js'
import type { AccessControl, Router, Worker } from '../routing/router.js'
import { joinParts, partsLength, sliceParts } from '../encoding/parts.js'
import { CarriedChannels } from './carried-channels.js'
import { TurnCork } from './turn-cork.js'
import { FrameDecoder, FRAME_HEADER_LENGTH, frameHeader, MAX_FRAME_SIZE, PROTOCOL_VERSION } from './frame-decoder.js'

/**
 * Every tick, a side that has written nothing since the previous tick writes a heartbeat, so a
 * live peer is heard from at least every two ticks (5 s). A connection that has read nothing for
 * SILENT_TICKS ticks is cut off (after 10 to 12.5 s of silence), even if TCP has not noticed: a
 * half-open path, a peer frozen or gone without a FIN.
 */
export const HEARTBEAT_TICK_MS = 2_500
export const SILENT_TICKS = 5
/** The longest a silent connection stays open. */
export const IDLE_TIMEOUT_MS = SILENT_TICKS * HEARTBEAT_TICK_MS
export const TCP_KEEPALIVE_MS = 10_000
/** A peer that lets this much pile up unread in our send buffer is cut off rather than buffered for. */
export const MAX_WRITE_BUFFER = 32 * 1024 * 1024

const HEARTBEAT = Buffer.alloc(FRAME_HEADER_LENGTH)
const EMPTY = Buffer.alloc(0)

export interface ConnectionInfo {
  address: string
  peer: string
  direction: 'in' | 'out'
  /** Bytes read and held for a frame not yet whole: never more than arrived, whatever a header claims. */
  pendingBytes: number
}

/**
 * One connection as a worker (a TCP socket, or any byte stream such as the in-memory pair): frames from the socket are routed with this connection's
 * address pushed onto their return route; messages addressed to it are written to the socket.
 */
export class TcpConnection implements Worker {
  readonly address = `tcp-${randomBytes(8).toString('hex')}`
  private readonly decoder = new FrameDecoder()
  // Flags and a counter, not clock readings: the hot path only sets them, the tick reads them.
  private silentTicks = 0
  private sentSinceTick = true
  private readonly timer: NodeJS.Timeout
  private closed = false
  private readonly cork: TurnCork
  private readonly closeHandlers: ((reason: string) => void)[] = []
  private readonly origin = new CarriedChannels(this.address)

  constructor(
    private readonly socket: Duplex,
    private readonly router: Router,
    private readonly log: Logger,
    readonly peer: string,
    readonly direction: 'in' | 'out',
    /** Who may write to this peer through us (default: anyone local). */
    incoming?: AccessControl
  ) {
    this.cork = new TurnCork(socket)
    if (socket instanceof Socket) {
      socket.setNoDelay(true)
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS)
    }
    router.register(this.address, this, incoming === undefined ? {} : { incoming })
    socket.write(Uint8Array.of(PROTOCOL_VERSION))
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err) => this.close(`socket error: ${err.message}`))
    socket.on('close', () => this.close('connection closed by peer'))
    this.timer = setInterval(() => this.tick(), HEARTBEAT_TICK_MS)
    this.timer.unref()
  }

  info(): ConnectionInfo {
    return { address: this.address, peer: this.peer, direction: this.direction, pendingBytes: this.decoder.pendingBytes }
  }

  get isClosed(): boolean {
    return this.closed
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler)
  }

  handleMessage(msg: LocalMessage): void {
    this.write({ ...msg, onward: msg.onward.slice(1) })
  }

  handleParts(msg: PartsMessage): void {
    if (msg.secureChannel !== undefined) this.origin.note(msg.secureChannel.channel)
    this.writeParts(msg.onward.slice(1), msg.return, msg.parts, msg.length)
  }

  /** Writes a message whose onward route is meant for the peer. */
  write(msg: LocalMessage): boolean {
    if (msg.secureChannel !== undefined) this.origin.note(msg.secureChannel.channel)
    return this.writeParts(msg.onward, msg.return, [msg.payload], msg.payload.byteLength)
  }

  /** Writes `CBOR [onward, return, parts joined]` as one frame, sent with the others of this turn (TurnCork). */
  private writeParts(onward: Route, ret: Route, parts: readonly Uint8Array[], payloadLength: number): boolean {
    if (this.closed) return false
    const head = encodeMessageHead(onward, ret, payloadLength)
    const length = head.byteLength + payloadLength
    if (length > MAX_FRAME_SIZE) {
      this.log.warn({ length }, 'outgoing message larger than the maximum frame size dropped')
      return false
    }
    if (this.socket.writableLength > MAX_WRITE_BUFFER) {
      this.close('peer is not reading: send buffer over its limit')
      return false
    }
    this.cork.hold()
    this.socket.write(frameHeader(length))
    this.socket.write(head)
    for (const p of parts) this.socket.write(p)
    this.sentSinceTick = true
    return true
  }

  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.router.unregister(this.address)
    this.socket.destroy()
    this.log.info({ peer: this.peer, direction: this.direction, reason }, 'tcp connection closed')
    for (const h of this.closeHandlers) h(reason)
  }

  private onData(chunk: Buffer): void {
    this.silentTicks = 0
    let frames: Buffer[][]
    try {
      frames = this.decoder.pushParts(chunk)
    } catch (err) {
      this.log.warn({ peer: this.peer, err: (err as Error).message }, 'malformed stream from peer')
      this.close(`protocol error: ${(err as Error).message}`)
      return
    }
    for (const parts of frames) {
      if (parts.length === 0) continue
      try {
        this.route(parts)
      } catch (err) {
        this.log.warn({ peer: this.peer, err: (err as Error).message }, 'malformed frame from peer')
        this.close(`protocol error: ${(err as Error).message}`)
        return
      }
      if (this.closed) return
    }
  }

  /** Routes one frame. Pushing ourselves onto the return route is what lets the answer find its way back. */
  private route(parts: Buffer[]): void {
    const total = partsLength(parts)
    // A frame that spanned reads goes on in pieces (a relay writes them as they are), unless its
    // head was cut by a read: then the whole frame is joined and judged.
    const head = parts.length > 1 ? headOf(parts[0] ?? EMPTY, total) : undefined
    if (head !== undefined) {
      const payload = sliceParts(parts, head.payloadAt, total)
      this.router.sendParts({ onward: head.onward, return: [local(this.address), ...head.return], parts: payload, length: total - head.payloadAt, fromNetwork: this.origin })
      return
    }
    const msg = decodeMessage(joinParts(parts, total))
    this.router.send({ onward: msg.onward, return: [local(this.address), ...msg.return], payload: msg.payload, fromNetwork: this.origin })
  }

  private tick(): void {
    if (++this.silentTicks >= SILENT_TICKS) {
      this.close(`peer silent for ${(SILENT_TICKS - 1) * HEARTBEAT_TICK_MS} ms or more`)
      return
    }
    if (!this.sentSinceTick) this.socket.write(HEARTBEAT)
    this.sentSinceTick = false
  }
}

function headOf(first: Uint8Array, total: number): ReturnType<typeof decodeMessageHead> | undefined {
  try {
    return decodeMessageHead(first, total)
  } catch {
    return undefined
  }
}
