import type { Command } from 'commander'

/** Examples shown at the end of `--help`, by command path: the common case first, each runnable as written. */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  'authority create': [
    'portico authority create --tcp-listener-address 0.0.0.0:4000 --public-route /ip4/10.0.0.5/tcp/4000',
    'portico authority create p2 --replica-of project.json --store "$PORTICO_STORE" --tcp-listener-address 0.0.0.0:4000   # another replica'
  ],
  'ticket create': [
    'portico ticket create --attribute influxdb-inlet=true --attribute bucket=site-7   # a device',
    'portico ticket create --attribute influxdb-outlet=true --relay influxdb            # the database node',
    'portico ticket create --usage-count 50 --expires-in 1d --attribute fleet=north     # 50 devices'
  ],
  enroll: ['portico enroll "$TICKET" --identity analyst'],
  'node create': [
    'portico node create edge --identity edge --enrollment-ticket "$T" --configuration "influxdb-inlet: {from: 8086, via: influxdb}"',
    'portico node create db --identity db --enrollment-ticket "$T" --config outlet.json'
  ],
  'node start': ['portico node start db --foreground   # under systemd (deploy/systemd/)'],
  'member delete': ['portico member delete I5f0c…   # its channels close everywhere within 15 s, its leases are revoked'],
  'lease create': ['portico lease create --via influxdb --outlet analysts --identity analyst'],
  'lease list': ['portico lease list --via influxdb --outlet analysts --output json'],
  'tcp-outlet create': ['portico tcp-outlet create --to 127.0.0.1:5432 --from postgres --allow db-user --at db'],
  'tcp-inlet create': ['portico tcp-inlet create --from 15432 --via db --outlet postgres --at laptop'],
  'influxdb-inlet create': ['portico influxdb-inlet create --from 8086 --via influxdb --at edge'],
  'influxdb-outlet create': ['portico influxdb-outlet create --at db --configuration \'{"to": "127.0.0.1:8086", "api": "auto", "admin-username": "admin", "admin-password": "…", "leased-token-permissions": [{"action": "write", "resource": {"type": "buckets", "name": "{subject.bucket}"}}]}\''],
  'relay create': ['portico relay create influxdb --node db', 'portico relay create influxdb --node db2 --shared   # a second outlet node in front of the same database'],
  console: ['portico console --identity admin   # prints the link to open; Ctrl-C stops it'],
  'tcp-inlet delete': ['portico tcp-inlet delete 127.0.0.1:15432 --at laptop'],
  'secure-channel create': ['portico secure-channel create --from n2 --to /node/n1/service/api --authorized I5f0c…']
}

/** Adds the examples to the commands they belong to. */
export function addHelpExamples(program: Command): void {
  for (const [path, lines] of Object.entries(EXAMPLES)) {
    const command = path.split(' ').reduce<Command | undefined>((c, name) => c?.commands.find((s) => s.name() === name), program)
    if (command === undefined) throw new Error(`help examples for a command that does not exist: ${path}`)
    command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`)
  }
}
