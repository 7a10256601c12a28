/** How far behind the highest nonce seen a message may still arrive (multipath, reordering). */
export const REPLAY_WINDOW_SIZE = 64n

/**
 * Sliding-window replay protection over 64-bit nonces (the scheme of IPsec and WireGuard).
 * `check` is side-effect free so a message can be authenticated before it is `accept`ed.
 */
export class ReplayWindow {
  private highest = -1n
  private bitmap = 0n

  check(nonce: bigint): boolean {
    if (nonce > this.highest) return true
    const behind = this.highest - nonce
    if (behind >= REPLAY_WINDOW_SIZE) return false
    return (this.bitmap & (1n << behind)) === 0n
  }

  accept(nonce: bigint): void {
    if (nonce > this.highest) {
      const shift = nonce - this.highest
      this.bitmap = shift >= REPLAY_WINDOW_SIZE ? 1n : ((this.bitmap << shift) | 1n) & ((1n << REPLAY_WINDOW_SIZE) - 1n)
      this.highest = nonce
    } else {
      this.bitmap |= 1n << (this.highest - nonce)
    }
  }
}
