import type { Writable } from 'node:stream'

/**
 * Holds a stream's writes until the event loop has run the callbacks of all the reads its current
 * turn brought (`setImmediate`), then lets them go together: on a socket, one writev. libuv reads
 * a socket 64 KiB at a time and calls back once per read, so a 325 KB request reaches a relay in
 * five or more reads in one turn; their frames leave in one system call and wake the next process
 * once, not once per read. Nothing waits for a later turn's reads.
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
    setImmediate(() => {
      this.held = false
      this.stream.uncork()
    })
  }
}
