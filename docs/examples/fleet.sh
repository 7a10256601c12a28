# A fleet on one machine: a project node, a database node next to InfluxDB 1.x, a device and an
# analyst, each with its own identity. Set these first (InfluxDB runs with auth-enabled = true
# and shared-secret set, as docs/configuration.md says):
: "${INFLUX:=127.0.0.1:8086}"                       # where InfluxDB listens, seen from the database node
: "${INFLUX_ADMIN_PASSWORD:?the InfluxDB admin password}"
: "${INFLUX_SHARED_SECRET:?the [http] shared-secret of InfluxDB}"
: "${PROJECT_PORT:=4000}" "${EDGE_PORT:=18086}" "${ANALYST_PORT:=18087}"

# The project node: the authority and the relay. You become its first admin.
portico identity create admin
portico authority create --identity admin --tcp-listener-address "127.0.0.1:$PROJECT_PORT"

# The database node: may register relay "influxdb", runs the lease manager, opens no port.
curl -sf -u "admin:$INFLUX_ADMIN_PASSWORD" -XPOST "http://$INFLUX/query" --data-urlencode 'q=CREATE DATABASE "site-7"' >/dev/null
cat > outlet.json <<JSON
{
  "relay": "influxdb",
  "influxdb-outlet": [
    {"to": "$INFLUX", "api": "v1", "allow": "influxdb-inlet",
     "admin-username": "admin", "admin-password": "$INFLUX_ADMIN_PASSWORD", "shared-secret": "$INFLUX_SHARED_SECRET",
     "leased-token-expires-in": "1h",
     "leased-token-permissions": [{"action": "write", "resource": {"type": "buckets", "name": "{subject.bucket}"}}]},
    {"from": "analysts", "to": "$INFLUX", "api": "v1", "allow": "analyst",
     "admin-username": "admin", "admin-password": "$INFLUX_ADMIN_PASSWORD", "shared-secret": "$INFLUX_SHARED_SECRET",
     "leased-token-expires-in": "7d",
     "leased-token-permissions": [{"action": "read", "resource": {"type": "buckets", "name": "site-7"}}]}
  ],
  "tcp-outlet": {"from": "influxdb-tcp", "to": "$INFLUX", "allow": "analyst"}
}
JSON
portico identity create db
T1=$(portico ticket create --identity admin --attribute influxdb-outlet=true --relay influxdb)
portico node create db --identity db --enrollment-ticket "$T1" --config outlet.json

# A device: its lease may write to bucket (database) site-7 only; it holds no database secret.
portico identity create edge
T2=$(portico ticket create --identity admin --attribute influxdb-inlet=true --attribute bucket=site-7)
portico node create edge --identity edge --enrollment-ticket "$T2" \
  --configuration "influxdb-inlet: {from: $EDGE_PORT, via: influxdb}"
# Telegraf, an app or curl writes with no credential; the first write may wait for the lease.
curl -sf --retry 10 --retry-all-errors --retry-delay 1 -XPOST "http://127.0.0.1:$EDGE_PORT/write?db=site-7" --data-binary 'cpu,host=edge value=1'

# A person: a token of their own that reads site-7 for a week, through a tcp-inlet to the database.
portico identity create analyst
T3=$(portico ticket create --identity admin --attribute analyst=true)
portico enroll "$T3" --identity analyst
portico node create analyst --identity analyst --configuration "tcp-inlet: {from: $ANALYST_PORT, via: influxdb, outlet: influxdb-tcp}"
# A v1 lease's token is user:password; the header line is ready to send.
AUTH=$(portico lease create --via influxdb --outlet analysts --identity analyst | sed -n 's/^header: *Authorization: //p')
curl -sf --retry 10 --retry-all-errors --retry-delay 1 -G "http://127.0.0.1:$ANALYST_PORT/query" -H "Authorization: $AUTH" \
  --data-urlencode 'db=site-7' --data-urlencode 'q=SELECT * FROM cpu'
portico lease list --via influxdb --outlet analysts --identity analyst
