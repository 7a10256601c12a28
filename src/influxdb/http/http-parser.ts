import { createRequire } from 'node:module'
import { PorticoError, type ErrorKind } from '../../util/errors.js'

// Node's own HTTP/1.1 parser (llhttp, the one behind node:http), driven directly. The inlet
// parses each request and each answer once with it and writes the heads it sends itself, rather
// than building a server request, a client request and their streams per request: on the
// benchmark machines that machinery cost three times the CPU of a plain TCP hop per 1-point write
// and added 0.2 ms to its latency, where this parser alone costs about what the hop does.

/** The head of one request or answer, as the parser read it. */
export interface MessageHead {
  versionMajor: number
  versionMinor: number
  /** Names and values in turn, as sent (names keep their case; repeated headers stay repeated). */
  headers: string[]
  /** Requests only. */
  method: string
  url: string
  /** Answers only. */
  status: number
  statusMessage: string
  /** The message asks to switch protocols (a Connection: upgrade with an Upgrade header, or CONNECT). */
  upgrade: boolean
  /** Whether the connection may carry another message after this one (version and Connection header). */
  keepAlive: boolean
}

/** What llhttp's callbacks return to read the body, to take none, and to stop at once (HPE_PAUSED). */
const LLHTTP_READ_BODY = 0
const LLHTTP_NO_BODY = 1
const LLHTTP_PAUSE = 21
const LLHTTP_FAIL = -1

export interface MessageHandler {
  /** A message's first byte arrived. */
  begin(): void
  /** Its head is complete. Returns true when the message has no body whatever its head says (an answer to HEAD). */
  head(head: MessageHead): boolean
  /**
   * A piece of its body, without chunk framing: the handler's to keep. A body of known length
   * comes as pieces of the buffers given to `execute`, one per buffer; llhttp hands over a copy of
   * every piece, one allocation and one copy per socket read, so such a body goes past it.
   */
  body(chunk: Buffer): void
  /** It is complete. */
  complete(): void
}

/** Bytes that are no valid HTTP/1.1 here, with llhttp's own code (`HPE_…`). */
export class HttpParseError extends PorticoError {
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'HttpParseError'
  constructor(message: string, override readonly code: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void
  execute(chunk: Buffer): number | (Error & { code?: string; reason?: string; bytesParsed?: number })
  finish(): undefined | number | (Error & { code?: string; reason?: string })
  free(): void
  [callback: number]: unknown
}
interface NativeParserClass {
  new (): NativeParser
  REQUEST: number
  RESPONSE: number
  kOnMessageBegin: number
  kOnHeaders: number
  kOnHeadersComplete: number
  kOnBody: number
  kOnMessageComplete: number
}

// `_http_common` is how node:http itself reaches llhttp; it is checked here once, so a Node.js
// whose parser is not the one this was written for fails at start-up with a clear message.
const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: NativeParserClass; methods?: string[] }
const Native = common.HTTPParser
const METHODS = common.methods
if (Native === undefined || METHODS === undefined || typeof (Native.prototype as Partial<NativeParser>).initialize !== 'function' || Native.kOnHeadersComplete === undefined) {
  throw new Error(`this Node.js (${process.version}) does not expose the HTTP parser node:http uses; the influxdb inlet needs Node.js 20`)
}
const NativeParser: NativeParserClass = Native
const KNOWN_METHODS: readonly string[] = METHODS

/** Parses one direction of one connection: the requests a client sends, or the answers a server sends. */
export class HttpMessageParser {
  private readonly parser = new NativeParser()
  /** Headers that arrived before the head was complete (more than 32, or a head split across reads). */
  private partialHeaders: string[] = []
  private partialUrl = ''
  /** What a handler threw inside a parser callback, rethrown once the parser has returned. */
  private failure: unknown
  /** Bytes still to come of a body of known length, passed on past llhttp. */
  private rawLeft = 0
  /** Whether the connection may carry another message after the one whose body is passed on. */
  private rawKeepAlive = true
  /** A message that closes the connection is complete: any byte after it is an error, as in llhttp. */
  private closed = false
  /** Inside a call into llhttp: the stack trace limit to restore (see `native`). */
  private stackTraceLimit: number | undefined

  constructor(private readonly kind: 'request' | 'response', private readonly maxHeaderBytes: number, private readonly handler: MessageHandler) {
    this.reset()
    const p = this.parser
    p[NativeParser.kOnMessageBegin] = () => { this.guard(() => handler.begin()) }
    p[NativeParser.kOnHeaders] = (headers: string[], url: string) => {
      for (const h of headers) this.partialHeaders.push(h)
      this.partialUrl += url
    }
    p[NativeParser.kOnHeadersComplete] = (versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number | undefined, url: string | undefined, status: number | undefined, statusMessage: string | undefined, upgrade: boolean, keepAlive: boolean): number => {
      const head: MessageHead = {
        versionMajor, versionMinor, headers: headers ?? this.partialHeaders, url: url ?? this.partialUrl,
        method: method === undefined ? '' : KNOWN_METHODS[method] ?? '', status: status ?? 0, statusMessage: statusMessage ?? '', upgrade, keepAlive
      }
      this.partialHeaders = []
      this.partialUrl = ''
      const noBody = this.guard(() => handler.head(head))
      if (this.failure !== undefined) return LLHTTP_FAIL
      if (noBody === true) return LLHTTP_NO_BODY
      const length = this.knownLength(head)
      if (length === undefined) return LLHTTP_READ_BODY
      // llhttp stops at the end of the head; execute passes the body on and starts it afresh after.
      this.rawLeft = length
      this.rawKeepAlive = keepAlive
      return LLHTTP_PAUSE
    }
    p[NativeParser.kOnBody] = (chunk: Buffer) => { this.guard(() => handler.body(chunk)) }
    p[NativeParser.kOnMessageComplete] = () => { this.guard(() => handler.complete()) }
  }

  /**
   * Parses a piece of the connection's bytes, calling the handler as messages go by. Returns how
   * many bytes were taken: fewer than given only after a message that switches protocols (see
   * `reset`). Throws an HttpParseError for bytes that are no valid HTTP.
   */
  execute(chunk: Buffer): number {
    let offset = 0
    // An empty buffer has no data pointer, which the binding would take for the end of the connection.
    while (offset < chunk.length) {
      if (this.closed) throw new HttpParseError('malformed HTTP: data after a message that closed the connection', 'HPE_CLOSED_CONNECTION')
      if (this.rawLeft > 0) {
        offset += this.passBody(chunk, offset)
        continue
      }
      const rest = offset === 0 ? chunk : chunk.subarray(offset)
      const r = this.native(() => this.parser.execute(rest))
      this.rethrow()
      if (typeof r === 'number') return offset + r
      if (r.code !== 'HPE_PAUSED' || this.rawLeft === 0) throw new HttpParseError(`malformed HTTP: ${r.reason ?? r.message}`, r.code ?? 'HPE_UNKNOWN', { cause: r })
      this.initialize()
      offset += r.bytesParsed ?? 0
    }
    return chunk.length
  }

  /** The connection ended: completes a message that runs to the end of the connection; throws if one was cut short. */
  finish(): void {
    if (this.rawLeft > 0) throw new HttpParseError('the connection ended in the middle of a message body', 'HPE_INVALID_EOF_STATE')
    const r = this.parser.finish()
    this.rethrow()
    if (r instanceof Error) throw new HttpParseError(`the connection ended in the middle of a message: ${r.reason ?? r.message}`, r.code ?? 'HPE_INVALID_EOF_STATE', { cause: r })
  }

  /** Starts afresh, as at the start of a connection: after a message that would have switched protocols. */
  reset(): void {
    this.rawLeft = 0
    this.closed = false
    this.initialize()
  }

  close(): void {
    this.parser.free()
  }

  private initialize(): void {
    this.parser.initialize(this.kind === 'request' ? NativeParser.REQUEST : NativeParser.RESPONSE, {}, this.maxHeaderBytes, 0)
    this.partialHeaders = []
    this.partialUrl = ''
  }

  /**
   * The length of a body to pass on past llhttp: one given by Content-Length, without
   * Transfer-Encoding (llhttp has checked the head: one length, digits only). Answers that never
   * have a body whatever their head says are left to llhttp.
   */
  private knownLength(head: MessageHead): number | undefined {
    if (this.kind === 'response' && (head.status < 200 || head.status === 204 || head.status === 304)) return undefined
    let length: number | undefined
    for (let i = 0; i < head.headers.length; i += 2) {
      const name = (head.headers[i] ?? '').toLowerCase()
      if (name === 'transfer-encoding') return undefined
      if (name === 'content-length') length = Number(head.headers[i + 1])
    }
    return length !== undefined && length > 0 && Number.isSafeInteger(length) ? length : undefined
  }

  /** Passes on what `chunk` holds from `offset` of the body of known length; returns how many bytes that was. */
  private passBody(chunk: Buffer, offset: number): number {
    const n = Math.min(this.rawLeft, chunk.length - offset)
    this.rawLeft -= n
    const piece = offset === 0 && n === chunk.length ? chunk : chunk.subarray(offset, offset + n)
    this.guard(() => this.handler.body(piece))
    if (this.rawLeft === 0) {
      this.guard(() => this.handler.complete())
      if (!this.rawKeepAlive) this.closed = true
    }
    this.rethrow()
    return n
  }

  /**
   * Calls into llhttp with no stack traces taken. Its binding builds an Error for every pause, that
   * is for the head of every message whose body goes on past it, and V8 would capture a stack for
   * each, which nothing reads (3 % of the inlet's samples in a profile under 5000-point writes;
   * 6.2 against 3.7 µs per parsed request in a loop). The handler's own errors keep their stacks:
   * `guard` restores the limit around it.
   */
  private native<T>(f: () => T): T {
    this.stackTraceLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      return f()
    } finally {
      Error.stackTraceLimit = this.stackTraceLimit
      this.stackTraceLimit = undefined
    }
  }

  private guard<T>(f: () => T): T | undefined {
    const limit = this.stackTraceLimit
    if (limit !== undefined) Error.stackTraceLimit = limit
    try {
      return f()
    } catch (err) {
      this.failure ??= err
      return undefined
    } finally {
      if (limit !== undefined) Error.stackTraceLimit = 0
    }
  }

  private rethrow(): void {
    const f = this.failure
    if (f === undefined) return
    this.failure = undefined
    throw f instanceof Error ? f : new Error('an HTTP parser callback failed', { cause: f })
  }
}
