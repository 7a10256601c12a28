import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync, chmodSync } from 'node:fs'
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

export async function startSshTunnel(dir: string, sshPort: number, forwards: { local: number; target: number }[]): Promise<SshTunnel> {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')])
  writeFileSync(join(dir, 'authorized_keys'), execFileSync('cat', [join(dir, 'user_key.pub')]))
  chmodSync(join(dir, 'authorized_keys'), 0o600)
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${sshPort}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`, 'UsePAM no', 'StrictModes no', 'PermitRootLogin yes', 'PasswordAuthentication no', 'AllowTcpForwarding yes', ''
  ].join('\n'))
  execFileSync('mkdir', ['-p', '/run/sshd'])
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' })
  await waitPort(sshPort)
  const client = spawn('ssh', ['-N', '-i', join(dir, 'user_key'), '-p', String(sshPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', ...forwards.flatMap((f) => ['-L', `127.0.0.1:${f.local}:127.0.0.1:${f.target}`]), `${user}@127.0.0.1`], { stdio: 'ignore' })
  for (const f of forwards) await waitPort(f.local)
  return { sshd, client, stop() { client.kill(); sshd.kill() } }
}
