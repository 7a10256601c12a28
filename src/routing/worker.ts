import type { LocalMessage, PartsMessage } from './message.js'

/** What the router delivers to: every service, channel end and connection is one. */
export interface Worker {
  handleMessage(msg: LocalMessage): void | Promise<void>
  /**
   * Optional: takes, synchronously, a message whose payload is still in parts (Router.sendParts).
   * Workers that pass bytes on (a secure channel encrypts them, a connection writes them) need
   * never join a portal chunk.
   */
  handleParts?(msg: PartsMessage): void
  /**
   * Optional: a node on this worker's route answered that `address` is not there (the far end of a
   * secure channel went away, a service is missing); `notice` is that answer, to pass on along its
   * route. Workers without it never see such notices.
   */
  handleUnreachable?(address: string, notice: LocalMessage): void
}
