#!/usr/bin/env bash
# The main job: two Portico nodes in separate processes open a mutually authenticated,
# end-to-end encrypted secure channel and echo a message through it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export PORTICO_HOME
PORTICO_HOME=$(mktemp -d /tmp/portico-demo.XXXXXX)
portico() { node bin/portico.js "$@"; }
cleanup() {
  portico node stop server >/dev/null 2>&1 || true
  portico node stop client >/dev/null 2>&1 || true
  rm -rf "$PORTICO_HOME"
}
trap cleanup EXIT
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Creating two identities (keys go to a vault readable only by you)"
server_id=$(portico identity create server)
client_id=$(portico identity create client)
echo "server: $server_id"
echo "client: $client_id"

step "Starting node 'server' (its own process, listening on loopback)"
portico node create server --identity server --tcp-listener-address 127.0.0.1:0
step "Starting node 'client' (its own process, no listener)"
portico node create client --identity client

step "Client opens a secure channel to the server, accepting only the server's identity"
channel=$(portico secure-channel create --from client --to /node/server/service/api --authorized "$server_id")
echo "channel: $channel"
portico secure-channel list --at server

step "Client sends a message through the channel to the server's echo service"
reply=$(portico message send "hello through an end-to-end encrypted channel" --from client --to "$channel/service/echo")
echo "reply: $reply"

step "A client that insists on another identity is refused"
if portico secure-channel create --from client --to /node/server/service/api --authorized "$client_id" 2>&1; then
  echo "unexpected: the channel was accepted"; exit 1
fi

[ "$reply" = "hello through an end-to-end encrypted channel" ] || { echo "FAILED: wrong echo"; exit 1; }
printf '\n\033[1;32mSUCCESS: two nodes in separate processes opened a secure channel and echoed a message.\033[0m\n'
