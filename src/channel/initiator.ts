import { local, type Route } from '../routing/address.js'
import { joinedMessage, type LocalMessage } from '../routing/message.js'
import { encodeIdentityPayload, verifyIdentityPayload } from './peer.js'
import { HandshakeXX } from './noise/handshake-xx.js'
import { SecureChannel } from './secure-channel.js'
import { Kind } from './channel-message.js'
import { ChannelClosedError, HandshakeTimeoutError, SecureChannelError, UnreachableError } from './errors.js'
import { describeError, HANDSHAKE_TIMEOUT_MS, randomAddress, verifyContext, type ChannelContext } from './context.js'
import type { TrustPolicy } from './trust-policy.js'

export interface CreateChannelOptions {
  trustPolicy: TrustPolicy
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * Initiator driver: sends message A along `route` (ending at a listener), answers B with C, and
 * resolves once the responder confirms it accepted us. Rejects with the responder's reason if not.
 */
export async function createSecureChannel(ctx: ChannelContext, route: Route, options: CreateChannelOptions): Promise<SecureChannel> {
  const decryptorAddress = randomAddress('sc-in')
  const encryptorAddress = randomAddress('sc')
  const staticKey = ctx.identity.secureChannelKey()
  const hs = new HandshakeXX(ctx.crypto, { role: 'initiator', staticKey: staticKey.key })
  let channel: SecureChannel | undefined
  let settle: { resolve: (c: SecureChannel) => void; reject: (e: Error) => void } | undefined
  const done = new Promise<SecureChannel>((resolve, reject) => { settle = { resolve, reject } })

  const fail = (err: Error): void => {
    settle?.reject(err)
    settle = undefined
    if (channel !== undefined) channel.close(err.message, false)
    else ctx.router.unregister(decryptorAddress)
  }

  const onMessageB = (msg: LocalMessage): void => {
    const verify = verifyContext(ctx)
    const payload = hs.readMessageB(msg.payload)
    const peer = verifyIdentityPayload(verify, payload, hs.remoteStatic() ?? new Uint8Array(0))
    options.trustPolicy.check(peer)
    const c = hs.writeMessageC(encodeIdentityPayload(ctx.identity.identity, staticKey.attestation.encoded, ctx.credentials()))
    ctx.router.send({ onward: msg.return, return: [local(decryptorAddress)], payload: c })
    const { sendKey, receiveKey } = hs.result()
    channel = new SecureChannel({
      role: 'initiator', router: ctx.router, log: ctx.log, verify, trustPolicy: options.trustPolicy,
      keys: { sendKey, receiveKey }, peer, remoteRoute: msg.return, decryptorAddress, encryptorAddress,
      ...(ctx.keepAliveTickMs !== undefined ? { keepAliveTickMs: ctx.keepAliveTickMs } : {})
    })
  }

  const handle = (msg: LocalMessage): void => {
    if (channel === undefined) {
      try {
        onMessageB(msg)
      } catch (err) {
        ctx.log.warn({ err: describeError(err) }, 'secure channel handshake failed')
        fail(err instanceof SecureChannelError ? err : new SecureChannelError(`handshake failed: ${describeError(err)}`, { cause: err }))
      }
      return
    }
    const result = channel.receive(msg)
    if (settle === undefined) return
    if (result?.kind === Kind.Ready) {
      ctx.onChannel?.(channel)
      settle.resolve(channel)
      settle = undefined
    } else if (result?.kind === Kind.Close || channel.isClosed) {
      fail(new ChannelClosedError(`the responder refused the channel: ${result?.reason ?? 'bad message'}`))
    }
  }
  ctx.router.register(decryptorAddress, {
    handleMessage: handle,
    // Before the handshake is done, a node on the way that has no `address` (a relay not
    // registered, a listener not there) means no answer will come: fail now, not at the time-out.
    handleUnreachable: (address) => {
      if (channel !== undefined) channel.farEndGone(address)
      else if (route.some((a) => a.value === address)) fail(new UnreachableError(`no route to the listener: ${address.slice(0, 80)} is not there`))
    },
    // Once the channel is up and settled, data may arrive in pieces (a frame that spanned reads).
    handleParts: (msg) => {
      if (channel !== undefined && settle === undefined) channel.receiveParts(msg)
      else handle(joinedMessage(msg))
    }
  })

  ctx.router.send({ onward: route, return: [local(decryptorAddress)], payload: hs.writeMessageA(new Uint8Array(0)) })

  const timeoutMs = options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS
  const timer = setTimeout(() => fail(new HandshakeTimeoutError(`no answer to the secure channel handshake within ${timeoutMs} ms`)), timeoutMs)
  const onAbort = (): void => {
    const why: unknown = options.signal?.reason
    fail(new SecureChannelError(`secure channel creation aborted${why instanceof Error ? `: ${why.message}` : ''}`, { cause: why }))
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  if (options.signal?.aborted === true) onAbort()
  try {
    return await done
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
