import type { NetworkOrigin } from '../routing/message.js'

/**
 * The most channels one connection remembers carrying messages out of. A relay's connection to a
 * hop past it carries few; a connection that carries more forgets the oldest, whose answers are
 * then refused (the channel's initiator times out and builds another).
 */
export const MAX_CARRIED_CHANNELS = 4096

/**
 * What a connection knows of the frames it reads: which secure channels it carried messages out
 * of. A frame from the network may go into a channel only as an answer to what that channel sent
 * this way (a channel whose route goes on over plain TCP past this node); anything else naming a
 * channel's encryptor would speak to its peer as this node.
 */
export class CarriedChannels implements NetworkOrigin {
  private readonly channels = new Set<string>()

  constructor(readonly connection: string) {}

  note(channel: string): void {
    if (this.channels.has(channel)) return
    this.channels.add(channel)
    if (this.channels.size > MAX_CARRIED_CHANNELS) {
      const [oldest] = this.channels
      if (oldest !== undefined) this.channels.delete(oldest)
    }
  }

  carried(channel: string): boolean {
    return this.channels.has(channel)
  }
}
