import type { Command } from 'commander'
import { nodeCrypto } from '../../crypto/node-crypto.js'
import { silentLogger } from '../../log/logger.js'
import { Home } from '../../node/home.js'
import { callNode } from '../../node/control-client.js'
import { PorticoNode } from '../../node/portico-node.js'
import { parseOutput, print, table } from '../output.js'

export function channelCommands(program: Command): void {
  const sc = program.command('secure-channel').description('Open and list end-to-end encrypted secure channels')

  sc.command('create').description('Ask node FROM to open a secure channel along ROUTE; prints the channel address')
    .requiredOption('--from <node>', 'the node that opens the channel')
    .requiredOption('--to <route>', 'route ending at a secure channel listener, e.g. /node/n2/service/api or /ip4/127.0.0.1/tcp/4000/service/api')
    .option('--authorized <identifier>', 'accept only this peer identity')
    .option('--timeout <ms>', 'handshake timeout in milliseconds', (v) => Number(v), 10_000)
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { from: string; to: string; authorized?: string; timeout: number; output: 'plain' | 'json' }) => {
      // A route to a listener is written `/…/service/api`; `secure` is what creates the channel.
      const to = o.to.replace(/\/service\/([^/]+)$/, '/secure/$1')
      const r = await callNode<{ address: string; peer: string }>(new Home().apiSocket(o.from), 'POST', '/secure-channels', {
        to, timeoutMs: o.timeout, ...(o.authorized !== undefined ? { authorized: o.authorized } : {})
      })
      print(o.output, r, () => r.address)
    })

  sc.command('list').description('List the secure channels of a node')
    .requiredOption('--at <node>', 'node name')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { at: string; output: 'plain' | 'json' }) => {
      const rows = await callNode<Record<string, unknown>[]>(new Home().apiSocket(o.at), 'GET', '/secure-channels')
      print(o.output, rows, () => table(rows, ['address', 'role', 'peer', 'openedAt']))
    })

  program.command('message').description('Send messages along routes')
    .command('send').argument('<text>', 'the message').description('Send TEXT along ROUTE and print the answer (e.g. from an echo service)')
    .requiredOption('--to <route>', 'e.g. /ip4/127.0.0.1/tcp/4000/secure/api/service/echo')
    .option('--from <node>', 'send from this running node (default: a temporary in-process node)')
    .option('--identity <name>', 'identity of the temporary node')
    .option('--timeout <ms>', 'how long to wait for the answer', (v) => Number(v), 10_000)
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (text: string, o: { to: string; from?: string; identity?: string; timeout: number; output: 'plain' | 'json' }) => {
      const home = new Home()
      let reply: string
      if (o.from !== undefined) {
        reply = (await callNode<{ reply: string }>(home.apiSocket(o.from), 'POST', '/messages', { to: o.to, text, timeoutMs: o.timeout })).reply
      } else {
        const node = await PorticoNode.start({ name: 'cli', identity: home.loadIdentity(nodeCrypto, o.identity), log: silentLogger, resolveNode: (n) => home.nodeAddress(n) })
        try {
          const route = await node.resolve(o.to, { timeoutMs: o.timeout })
          reply = Buffer.from(await node.send(route, Buffer.from(text, 'utf8'), { timeoutMs: o.timeout })).toString('utf8')
        } finally {
          await node.stop()
        }
      }
      print(o.output, { reply }, () => reply)
    })
}
