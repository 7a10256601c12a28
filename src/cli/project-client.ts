import { CliError } from './cli-error.js'
import { step } from './progress.js'
import { nodeCrypto } from '../crypto/node-crypto.js'
import type { AuthorityClient } from '../authority/authority-client.js'
import type { Project } from '../authority/project.js'
import { pino } from 'pino'
import { createLogger, silentLogger } from '../log/logger.js'
import type { Home } from '../node/home.js'
import { authorityClientFor } from '../node/membership.js'
import { PorticoNode } from '../node/portico-node.js'

/**
 * Runs `fn` with a client of the project's authority from a short-lived in-process node, as the
 * chosen identity: the CLI holds no long connection and needs no running node of its own.
 */
export async function withAuthority<T>(home: Home, options: { identity?: string; project?: string | Project }, fn: (client: AuthorityClient, node: PorticoNode, project: Project) => Promise<T>): Promise<T> {
  const project = typeof options.project === 'object' ? options.project : home.project(nodeCrypto, options.project)
  if (project === undefined) throw new CliError('this home belongs to no project: enroll with a ticket or import a project file first', 'not-found')
  const identity = home.loadIdentity(nodeCrypto, options.identity)
  // Command output is stdout; a temporary node's logs, when asked for, go to stderr.
  const log = process.env.PORTICO_LOG_LEVEL !== undefined ? createLogger({ name: 'cli', destination: pino.destination(2) }) : silentLogger
  const node = await PorticoNode.start({ name: 'cli', identity, log, authorities: () => [project.authority], project })
  try {
    return await step(`talking to project ${project.name} (${project.route})`, () => fn(authorityClientFor(node, project), node, project))
  } finally {
    await node.stop()
  }
}
