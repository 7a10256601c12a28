import { LOCAL, local, type Address } from '../routing/address.js'
import type { SecureChannelInfo } from '../routing/message.js'
import type { SecureChannel } from '../channel/secure-channel.js'

/**
 * A node's open secure channels and what each one runs over: the TCP connection that carries it
 * (which is how a node knows who a peer on that connection is), or the project channel it leans
 * on. A channel cannot outlive what carries it, so closing one closes the channels built on it.
 */
export class ChannelRegistry {
  readonly channels = new Map<string, SecureChannel>()
  /**
   * Channels by their first hop (a TCP connection worker, an outer channel, a TCP address): what
   * must close with it is found without a look at every channel, which a relay carrying thousands
   * would otherwise take at each close, and so at every one of a storm of closes.
   */
  private readonly byFirstHop = new Map<number, Map<string, Set<SecureChannel>>>()
  /**
   * Channels routed plainly over a connection that another channel of ours authenticates to the
   * project node (the relay's fast path), and that channel: they live and die together.
   */
  private readonly anchors = new Map<string, SecureChannel>()

  /** `isConnection` says whether a local address is one of the node's TCP connection workers. */
  constructor(private readonly isConnection: (address: string) => boolean) {}

  track(channel: SecureChannel): void {
    this.channels.set(channel.address, channel)
    const first = channel.remoteRoute[0]
    if (first !== undefined) {
      const ofType = this.byFirstHop.get(first.type) ?? new Map<string, Set<SecureChannel>>()
      this.byFirstHop.set(first.type, ofType)
      const set = ofType.get(first.value) ?? new Set()
      set.add(channel)
      ofType.set(first.value, set)
    }
    channel.onClose((reason) => {
      this.channels.delete(channel.address)
      this.anchors.delete(channel.address)
      if (first !== undefined) {
        const ofType = this.byFirstHop.get(first.type)
        const set = ofType?.get(first.value)
        set?.delete(channel)
        if (set?.size === 0) ofType?.delete(first.value)
      }
      this.closeVia(local(channel.address), `outer secure channel closed (${reason})`)
    })
  }

  /** `inner` runs plainly over the connection `outer` authenticates: it cannot outlive `outer`. */
  anchor(inner: SecureChannel, outer: SecureChannel): void {
    this.anchors.set(inner.address, outer)
    outer.onClose((reason) => inner.close(`the project channel that admitted it to the relay closed (${reason})`))
  }

  /** Checked for every message forwarded between connections, so it allocates nothing. */
  hasCredentialedPeer(connection: string): boolean {
    for (const c of this.over(LOCAL, connection) ?? []) if (!c.isClosed && c.senderInfo.hasCredential) return true
    return false
  }

  /** The verified peers of the channels carried by connection worker `address`. */
  peersOnConnection(address: string): SecureChannelInfo[] {
    return [...(this.over(LOCAL, address) ?? [])].filter((c) => !c.isClosed).map((c) => c.senderInfo)
  }

  /** The connection worker a channel runs directly over, if it runs over one of our TCP connections. */
  connectionHop(channel: SecureChannel): Address | undefined {
    const hop = channel.remoteRoute[0]
    return hop?.type === LOCAL && this.isConnection(hop.value) ? hop : undefined
  }

  /**
   * Closes a channel and the channels it was built on that belong to it alone (a channel to the
   * project opened just to reach a relay), so a rebuilt route leaves nothing behind.
   */
  closeChain(address: string, reason: string): void {
    let next: string | undefined = address
    while (next !== undefined) {
      const c = this.channels.get(next)
      if (c === undefined) return
      const anchor = this.anchors.get(next)
      const hop = anchor === undefined ? c.remoteRoute[0] : local(anchor.address)
      c.close(reason)
      next = hop?.type === LOCAL && this.channels.has(hop.value) && !this.inUse(hop.value) ? hop.value : undefined
    }
  }

  /** Closes every channel whose first hop is `first` (a lost connection, or a closed outer channel). */
  closeVia(first: Address, reason: string): void {
    for (const c of [...this.over(first.type, first.value) ?? []]) c.close(reason, false)
  }

  /** The channels whose first hop is this address; looked up without allocating, since forwarding asks per message. */
  private over(type: number, value: string): Set<SecureChannel> | undefined {
    return this.byFirstHop.get(type)?.get(value)
  }

  /** Closes every channel whose peer is `identifier`. */
  closeChannelsOf(identifier: string, reason: string): number {
    let n = 0
    for (const c of this.channels.values()) {
      if (c.peer.identifier === identifier) {
        c.close(reason)
        n++
      }
    }
    return n
  }

  /** Does another channel run over, or lean on, the channel at `address`? */
  private inUse(address: string): boolean {
    if (this.over(LOCAL, address) !== undefined) return true
    for (const outer of this.anchors.values()) if (outer.address === address) return true
    return false
  }
}

