import type { LocalMessage } from '../routing/message.js'
import type { AccessControl, Router } from '../routing/router.js'

/** Answers every message with its own payload: the smallest service, for tests and diagnostics. */
export function startEcho(router: Router, address = 'echo', incoming?: AccessControl): void {
  router.register(address, {
    handleMessage(msg: LocalMessage) {
      router.send({ onward: msg.return, return: [{ type: 0, value: address }], payload: msg.payload })
    }
  }, incoming === undefined ? {} : { incoming })
}
