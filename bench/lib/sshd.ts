import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'node:net'
import { once } from 'node:events'

/** An sshd of our own on 127.0.0.1 and an `ssh -L` client: the tunnel baseline. */
export interface SshTunnel {
  sshd: ChildProcess
  client: ChildProcess
  stop(): void
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = connect({ host: '127.0.0.1', port })
    s.on('error', () => undefined)
    try {
      await once(s, 'connect')
      s.destroy()
      return
    } catch { /* not yet */ }
    await sleep(50)
  }
  throw new Error(`port ${port} never opened`)
}

/** Keys and an sshd of our own listening on 127.0.0.1:`port`, its files under `dir`/`name`-*. */
async function startSshd(dir: string, name: string, port: number): Promise<ChildProcess> {
  const config = join(dir, `${name}-sshd_config`)
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, `${name}-sshd.pid`)}`, 'UsePAM no', 'StrictModes no', 'PermitRootLogin yes', 'PasswordAuthentication no', 'AllowTcpForwarding yes', ''
  ].join('\n'))
  execFileSync('mkdir', ['-p', '/run/sshd'])
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: 'ignore' })
  await waitPort(port)
  return sshd
}

function keys(dir: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')])
  writeFileSync(join(dir, 'authorized_keys'), execFileSync('cat', [join(dir, 'user_key.pub')]))
  chmodSync(join(dir, 'authorized_keys'), 0o600)
  return execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()
}

export async function startSshTunnel(dir: string, sshPort: number, forwards: { local: number; target: number }[]): Promise<SshTunnel> {
  const user = keys(dir)
  const sshd = await startSshd(dir, 'tunnel', sshPort)
  const client = spawn('ssh', ['-N', '-i', join(dir, 'user_key'), '-p', String(sshPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', ...forwards.flatMap((f) => ['-L', `127.0.0.1:${f.local}:127.0.0.1:${f.target}`]), `${user}@127.0.0.1`], { stdio: 'ignore' })
  for (const f of forwards) await waitPort(f.local)
  return { sshd, client, stop() { client.kill(); sshd.kill() } }
}

/** Every process below `pid` (from /proc): sshd forks one per connection, ssh one per ProxyJump. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)])
    } catch { /* gone meanwhile */ }
  }
  const out: number[] = []
  const walk = (p: number): void => { for (const c of parents.get(p) ?? []) { out.push(c); walk(c) } }
  walk(pid)
  return out
}

/** The usual way to a private database: `ssh -L` to it from the host it sits on, through a jump host (`ssh -J`). */
export interface SshBastionChain {
  /** Where a client connects (the `-L` end). */
  address: string
  /** Every process of the chain once it carries a connection: the ssh client and its ProxyJump ssh, both sshd and their children. */
  pids(): number[]
  stop(): void
}

/** Two sshd of our own on 127.0.0.1 (the jump host and the database's host) and `ssh -J … -L`, so the chain has the shape of inlet → relay → outlet. */
export async function startSshBastionChain(dir: string, ports: { jump: number; host: number; local: number }, target: number): Promise<SshBastionChain> {
  const user = keys(dir)
  const jump = await startSshd(dir, 'jump', ports.jump)
  const host = await startSshd(dir, 'host', ports.host)
  const config = join(dir, 'ssh_config')
  const common = [`  User ${user}`, `  IdentityFile ${join(dir, 'user_key')}`, '  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null', '  LogLevel ERROR']
  writeFileSync(config, ['Host jump', '  HostName 127.0.0.1', `  Port ${ports.jump}`, ...common, 'Host dbhost', '  HostName 127.0.0.1', `  Port ${ports.host}`, '  ProxyJump jump', ...common, ''].join('\n'))
  const client = spawn('ssh', ['-F', config, '-N', '-L', `127.0.0.1:${ports.local}:127.0.0.1:${target}`, 'dbhost'], { stdio: 'ignore' })
  await waitPort(ports.local)
  const roots = [client.pid ?? 0, jump.pid ?? 0, host.pid ?? 0]
  return {
    address: `127.0.0.1:${ports.local}`,
    pids: () => roots.flatMap((p) => [p, ...descendants(p)]),
    stop() { client.kill(); jump.kill(); host.kill() }
  }
}
