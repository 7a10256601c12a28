import type { Writable } from 'node:stream'

/**
 * Holds a stream's writes until the current turn of the event loop is done, then lets them go
 * together: on a socket, one writev. The frames or portal data that one socket read brought leave
 * in one system call and wake the next process once, not once each; nothing waits for a later turn.
 * Holding them longer, until every read of the loop's turn has called back (`setImmediate`), cut
 * a 5000-point InfluxDB write's write calls from about 8 to 3 per process, but made a bulk portal
 * a tenth to a fifth slower: a grant of credit or a read's last chunk then waits behind up to 32
 * reads of 64 KiB, and the next process idles meanwhile (docs/operations.md).
 */
export class TurnCork {
  private held = false
  /**
   * A stream that takes one chunk at a time (the in-memory pair the InfluxDB inlet writes its
   * answers into) gains nothing from waiting: its writes go at once.
   */
  private readonly batches: boolean

  constructor(private readonly stream: Writable) {
    this.batches = typeof (stream as { _writev?: unknown })._writev === 'function'
  }

  hold(): void {
    if (this.held || !this.batches) return
    this.held = true
    this.stream.cork()
    process.nextTick(() => {
      this.held = false
      this.stream.uncork()
    })
  }
}
