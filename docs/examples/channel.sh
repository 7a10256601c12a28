# Two nodes and a secure channel between them, on one machine: the layer portals are built on.
: "${N1_PORT:=4000}"
portico identity create alice
portico identity create bob
portico node create n1 --tcp-listener-address "127.0.0.1:$N1_PORT" --identity alice   # background; --foreground to stay attached
portico node create n2 --identity bob
# n2 opens a channel to n1 and accepts only alice at the other end.
channel=$(portico secure-channel create --from n2 --to /node/n1/service/api --authorized "$(portico identity show alice)")
portico message send hello --from n2 --to "$channel/service/echo"
portico message send hello --to "/ip4/127.0.0.1/tcp/$N1_PORT/secure/api/service/echo"   # from a temporary node
portico node list
portico node stop n1
portico node start n1   # as it was created (secrets only from the environment); --foreground under systemd
portico node logs n1 | tail -n 3
portico node stop n1
portico node stop n2
