#!/usr/bin/env bash
# The main job. A real InfluxDB 1.6.7 on a private address, a project node, an outlet node with the
# lease manager next to the database (it opens no port: it registers a relay), and two devices whose
# inlets inject a unique, least-privilege, time-limited lease into every request. The devices hold
# no database secret at all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
started=$(date +%s)

export PORTICO_HOME
PORTICO_HOME=$(mktemp -d /tmp/portico-demo.XXXXXX)
portico() { node bin/portico.js "$@"; }
INFLUX_PID=
cleanup() {
  for n in device-1 device-2 intruder outlet authority; do portico node stop "$n" >/dev/null 2>&1 || true; done
  [ -n "$INFLUX_PID" ] && kill "$INFLUX_PID" 2>/dev/null || true
  rm -rf "$PORTICO_HOME"
}
trap cleanup EXIT
step() { printf '\n\033[1m==> [%3ss] %s\033[0m\n' "$(( $(date +%s) - started ))" "$*"; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
json() { node -e "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const v=JSON.parse(d);console.log((${1})(v))})"; }

INFLUX_PORT=$(free_port); INFLUX_ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+='); SHARED_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
export INFLUX_ADMIN_PASSWORD SHARED_SECRET
influx_q() { curl -s -u "admin:$INFLUX_ADMIN_PASSWORD" -XPOST "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "q=$1" "${@:2}"; }

step "Starting InfluxDB 1.6.7 on 127.0.0.1:$INFLUX_PORT with auth-enabled and a JWT shared secret"
mkdir -p "$PORTICO_HOME/influxdb"
cat > "$PORTICO_HOME/influxdb/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$PORTICO_HOME/influxdb/meta"
[data]
  dir = "$PORTICO_HOME/influxdb/data"
  wal-dir = "$PORTICO_HOME/influxdb/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  auth-enabled = true
  log-enabled = false
  shared-secret = "$SHARED_SECRET"
[logging]
  level = "warn"
CONF
influxd run -config "$PORTICO_HOME/influxdb/influxdb.conf" >"$PORTICO_HOME/influxdb/influxd.log" 2>&1 &
INFLUX_PID=$!
until curl -s -o /dev/null "http://127.0.0.1:$INFLUX_PORT/ping"; do sleep 0.1; done
curl -s -XPOST "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "q=CREATE USER admin WITH PASSWORD '$INFLUX_ADMIN_PASSWORD' WITH ALL PRIVILEGES" >/dev/null
influx_q "CREATE DATABASE \"device-1\"" >/dev/null; influx_q "CREATE DATABASE \"device-2\"" >/dev/null
echo "databases device-1 and device-2 created; only the outlet node will know the admin password"

step "Starting the project node (authority and relay); you are its first admin"
portico identity create admin >/dev/null
portico authority create --tcp-listener-address 127.0.0.1:0

step "Enrolling the outlet node next to InfluxDB: it may register relay 'influxdb' and runs the lease manager"
portico identity create outlet >/dev/null
portico enroll "$(portico ticket create --attribute influxdb-outlet=true --relay influxdb)" --identity outlet
cat > "$PORTICO_HOME/outlet.json" <<'CONF'
{"relay": "influxdb",
 "influxdb-outlet": {"to": "127.0.0.1:$INFLUX_PORT", "api": "auto", "allow": "influxdb-inlet",
   "admin-username": "admin", "admin-password": "$INFLUX_ADMIN_PASSWORD", "shared-secret": "$SHARED_SECRET",
   "leased-token-expires-in": "12",
   "leased-token-permissions": "[{\"action\":\"write\",\"resource\":{\"type\":\"buckets\",\"name\":\"{subject.bucket}\"}},{\"action\":\"read\",\"resource\":{\"type\":\"buckets\",\"name\":\"{subject.bucket}\"}}]"}}
CONF
export INFLUX_PORT
portico node create outlet --identity outlet --config "$PORTICO_HOME/outlet.json"

for d in 1 2; do
  step "Enrolling device-$d (attributes influxdb-inlet=true, bucket=device-$d) with an InfluxDB inlet"
  portico identity create "device-$d" >/dev/null
  port=$(free_port); eval "PORT_$d=$port"
  ticket=$(portico ticket create --attribute influxdb-inlet=true --attribute "bucket=device-$d")
  portico node create "device-$d" --identity "device-$d" --enrollment-ticket "$ticket" \
    --configuration "influxdb-inlet: {from: 127.0.0.1:$port, via: influxdb, allow: influxdb-outlet}"
done
sleep 1

step "Each device writes 20 points to its local inlet, with no credential of its own"
for d in 1 2; do
  port=$(eval echo "\$PORT_$d")
  for i in $(seq 1 20); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$port/write?db=device-$d" --data-binary "temperature,device=device-$d value=$((20 + i))")
    [ "$code" = 204 ] || { echo "FAILED: device-$d write got HTTP $code"; exit 1; }
  done
  echo "device-$d: 20 writes, all HTTP 204"
done

step "Each device's unique lease (id and expiry; the secret never leaves the inlet)"
for d in 1 2; do
  portico node show "device-$d" --output json | json "v => 'device-$d: lease ' + v.influxdbInlets[0].leases.map(l => l.id + ' expires ' + l.expiresAt).join(', ')"
done
echo "InfluxDB users made by the lease manager: $(influx_q 'SHOW USERS' | json "v => v.results[0].series[0].values.map(r => r[0]).filter(n => n.startsWith('portico_')).join(' ')")"
echo "A device cannot touch the other's bucket: HTTP $(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$PORT_1/write?db=device-2" --data-binary 'x v=1') (403 = its lease has no grant there)"
echo "Nor copy another database with a continuous query: $(curl -s -w ' (HTTP %{http_code})' -XPOST "http://127.0.0.1:$PORT_1/query?db=device-1" --data-urlencode 'q=CREATE CONTINUOUS QUERY cq ON "device-1" BEGIN SELECT max(v) INTO "device-1"."autogen"."x" FROM "device-2"."autogen"."temperature" GROUP BY time(1s) END')"

step "The data landed in InfluxDB"
for d in 1 2; do
  echo "device-$d: $(influx_q "SELECT count(value) FROM temperature" --data-urlencode "db=device-$d" | json "v => v.results[0].series[0].values[0][1]") points"
done

step "Rotation: a lease is renewed at 2/3 of its life; the old credential is refused by InfluxDB after expiry"
lease=$(portico lease create --via influxdb --identity device-1 --output json)
token=$(echo "$lease" | json "v => v.token"); expires=$(echo "$lease" | json "v => v.expiresAt")
echo "a lease for device-1: id $(echo "$lease" | json "v => v.id"), expires $expires"
echo "used directly now: HTTP $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -XPOST "http://127.0.0.1:$INFLUX_PORT/write?db=device-1" --data-binary 'direct v=1')"
before=$(portico node show device-1 --output json | json "v => v.influxdbInlets[0].leases[0].id")
for i in $(seq 1 14); do
  curl -s -o /dev/null -w '' -XPOST "http://127.0.0.1:$PORT_1/write?db=device-1" --data-binary "temperature,device=device-1 value=$i" ; sleep 1
done
after=$(portico node show device-1 --output json | json "v => v.influxdbInlets[0].leases[0].id")
echo "device-1 inlet lease: $before -> $after (renewed while writes kept succeeding)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -XPOST "http://127.0.0.1:$INFLUX_PORT/write?db=device-1" --data-binary 'direct v=1')
echo "the expired token, used directly after $expires: HTTP $code"
[ "$code" = 401 ] || { echo "FAILED: an expired lease was accepted"; exit 1; }
[ "$before" != "$after" ] || { echo "FAILED: the inlet lease did not rotate"; exit 1; }

step "A third node without the influxdb-inlet attribute is refused"
portico identity create intruder >/dev/null
PORT_3=$(free_port)
portico node create intruder --identity intruder --enrollment-ticket "$(portico ticket create --attribute bucket=device-1)" \
  --configuration "influxdb-inlet: {from: 127.0.0.1:$PORT_3, via: influxdb}"
sleep 1
answer=$(curl -s -w ' (HTTP %{http_code})' -XPOST "http://127.0.0.1:$PORT_3/write?db=device-1" --data-binary 'x v=1')
echo "intruder: $answer"
case "$answer" in *"lease refused"*) ;; *) echo "FAILED: the intruder was not refused"; exit 1 ;; esac

step "Deleting member device-2 revokes its lease (within 15 s)"
curl -s -o /dev/null -XPOST "http://127.0.0.1:$PORT_2/write?db=device-2" --data-binary 'last v=1'
# device-2's own lease users, by the ids its inlet holds (device-1 goes on rotating its own meanwhile).
leases_of_2() { portico node show device-2 --output json | json "v => v.influxdbInlets[0].leases.map(l => 'portico_lease_' + l.id).join(' ')"; }
lease_users() { influx_q 'SHOW USERS' | json "v => v.results[0].series[0].values.map(r => r[0]).filter(u => u.startsWith('portico_')).join(' ')"; }
device2=$(leases_of_2)
[ -n "$device2" ] || { echo "FAILED: device-2 holds no lease"; exit 1; }
portico member delete "$(portico identity show device-2)"
t0=$(date +%s)
while :; do
  device2="$device2 $(leases_of_2)"
  users=" $(lease_users) "
  left=0
  for u in $device2; do case "$users" in *" $u "*) left=1 ;; esac; done
  [ "$left" = 0 ] && break
  [ $(( $(date +%s) - t0 )) -lt 15 ] || { echo "FAILED: device-2's lease was not revoked within 15 s"; exit 1; }
  sleep 0.25
done
echo "device-2's lease user was dropped $(( $(date +%s) - t0 )) s after the member was deleted"
echo "device-2 now: HTTP $(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$PORT_2/write?db=device-2" --data-binary 'x v=1')"

step "No secret in any log"
for f in "$PORTICO_HOME"/nodes/*/node.log; do
  if grep -q -e "$token" -e "$INFLUX_ADMIN_PASSWORD" -e "$SHARED_SECRET" "$f"; then echo "FAILED: a secret is in $f"; exit 1; fi
done
echo "checked $(ls "$PORTICO_HOME"/nodes/*/node.log | wc -l) node logs"

printf '\n\033[1;32mSUCCESS in %ss: two devices wrote to a private InfluxDB through relayed portals, each with its own rotating, least-privilege lease and no credential of its own.\033[0m\n' "$(( $(date +%s) - started ))"
