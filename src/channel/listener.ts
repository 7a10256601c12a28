import { local } from '../routing/address.js'
import { joinedMessage, type LocalMessage } from '../routing/message.js'
import { encodeIdentityPayload, verifyIdentityPayload } from './peer.js'
import { HandshakeXX } from './noise/handshake-xx.js'
import { SecureChannel } from './secure-channel.js'
import { TransportEncryptor } from './transport-cipher.js'
import { encodeClose } from './channel-message.js'
import { describeError, HANDSHAKE_TIMEOUT_MS, randomAddress, verifyContext, type ChannelContext } from './context.js'
import type { TrustPolicy } from './trust-policy.js'

/** Half-open handshakes a listener holds at once; more are dropped, so a flood costs bounded memory. */
export const MAX_PENDING_HANDSHAKES = 1024

export interface ListenerOptions {
  trustPolicy: TrustPolicy
}

/** Responder driver: one listener address; each handshake gets its own decryptor address. */
export class SecureChannelListener {
  private pending = 0

  constructor(private readonly ctx: ChannelContext, readonly address: string, private readonly options: ListenerOptions) {
    ctx.router.register(address, { handleMessage: (msg) => this.onMessageA(msg) })
  }

  stop(): void {
    this.ctx.router.unregister(this.address)
  }

  private onMessageA(msg: LocalMessage): void {
    const { ctx } = this
    if (this.pending >= MAX_PENDING_HANDSHAKES) {
      ctx.log.warn({ listener: this.address }, 'too many pending secure channel handshakes: dropped one')
      return
    }
    const staticKey = ctx.identity.secureChannelKey()
    const hs = new HandshakeXX(ctx.crypto, { role: 'responder', staticKey: staticKey.key })
    let b: Uint8Array
    try {
      hs.readMessageA(msg.payload)
      b = hs.writeMessageB(encodeIdentityPayload(ctx.identity.identity, staticKey.attestation.encoded, ctx.credentials()))
    } catch (err) {
      ctx.log.warn({ listener: this.address, err: describeError(err) }, 'rejected a bad secure channel handshake message')
      return
    }
    const decryptorAddress = randomAddress('sc-in')
    this.pending++
    let channel: SecureChannel | undefined
    let finished = false
    const finish = (): void => {
      if (!finished) {
        finished = true
        this.pending--
        clearTimeout(timer)
      }
    }
    const timer = setTimeout(() => {
      finish()
      if (channel === undefined) ctx.router.unregister(decryptorAddress)
    }, HANDSHAKE_TIMEOUT_MS)
    timer.unref()

    const handle = (c: LocalMessage): void => {
      if (channel !== undefined) {
        channel.receive(c)
        return
      }
      finish()
      channel = this.onMessageC(hs, c, decryptorAddress)
    }
    ctx.router.register(decryptorAddress, {
      handleMessage: handle,
      handleUnreachable: (address) => channel?.farEndGone(address),
      // Once the channel is up, data may arrive in pieces (a frame that spanned reads).
      handleParts: (m) => {
        if (channel !== undefined) channel.receiveParts(m)
        else handle(joinedMessage(m))
      }
    })
    ctx.router.send({ onward: msg.return, return: [local(decryptorAddress)], payload: b })
  }

  private onMessageC(hs: HandshakeXX, msg: LocalMessage, decryptorAddress: string): SecureChannel | undefined {
    const { ctx } = this
    const verify = verifyContext(ctx)
    let keys
    try {
      const payload = hs.readMessageC(msg.payload)
      keys = hs.result()
      const peer = verifyIdentityPayload(verify, payload, keys.remoteStatic)
      this.options.trustPolicy.check(peer)
      const channel = new SecureChannel({
        role: 'responder', router: ctx.router, log: ctx.log, verify, trustPolicy: this.options.trustPolicy,
        keys, peer, remoteRoute: msg.return, decryptorAddress, encryptorAddress: randomAddress('sc'),
        ...(ctx.keepAliveTickMs !== undefined ? { keepAliveTickMs: ctx.keepAliveTickMs } : {})
      })
      channel.sendReady()
      ctx.log.info({ channel: channel.address, peer: peer.identifier }, 'secure channel accepted')
      ctx.onChannel?.(channel)
      return channel
    } catch (err) {
      ctx.log.warn({ listener: this.address, err: describeError(err) }, 'refused a secure channel')
      ctx.router.unregister(decryptorAddress)
      // Once message C decrypted we share keys with the peer, so the refusal can be authenticated.
      if (keys !== undefined) {
        const reason = err instanceof Error ? err.message : 'refused'
        const close = new TransportEncryptor(ctx.crypto, keys.sendKey).encrypt(encodeClose(reason))
        ctx.router.send({ onward: msg.return, return: [local(decryptorAddress)], payload: close })
      }
      return undefined
    }
  }
}
