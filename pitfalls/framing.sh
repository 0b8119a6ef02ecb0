#!/usr/bin/env bash
# Pitfall: two programs that disagree on where a message ends.
# The lecture's Java TcpServer reads its message with readLine, which returns at a
# newline; the lecture's C client sends "Hello from client" without one, then waits
# for the answer. Each waits for the other, for ever: neither program is wrong alone,
# the pair is. The fix is an agreement on framing: the lecture's Java client, whose
# println ends the line, against the same server.
# Run by scripts/pitfall framing; the programs come from $PITFALL_BIN/<flavor>/ (bin/).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/ready
bin=${PITFALL_BIN:-bin}

# Waits at most $2 tenths of a second for process $1 to end: 0 if it did.
ends_within() {
  local tries=$2
  while ((tries--)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}

# The Java server and a client on a free port: who is still waiting after 3 s.
pair() {
  local port server client
  port=$(free_port)
  KIT_PORT=$port "$bin/java/tcp-hello-server" > >(sed -u 's/^/  server | /') 2>&1 &
  server=$!
  wait_ready "$server" || { echo "  (the server did not start)"; return 1; }
  KIT_PORT=$port "$1" > >(sed -u 's/^/  client | /') 2>&1 &
  client=$!
  if ends_within "$client" 30; then
    wait "$client"; echo "  (client exit status $?)"
  else
    kill -0 "$server" 2>/dev/null &&
      echo "  (after 3 s both still wait: the client for an answer, the server for a newline)"
    kill "$client"; wait "$client" 2>/dev/null
    echo "  (stopped the client: the end of its stream ends the server's line)"
  fi
  if ends_within "$server" 30; then
    wait "$server"; echo "  (server exit status $?)"
  else
    kill "$server"; wait "$server" 2>/dev/null; echo "  (server still running after 3 s: stopped it)"
  fi
}

echo "== the mistake: the lecture's C client against its Java server"
pair "$bin/c/tcp-hello-client"
echo "== the fix: a client that ends its line, the lecture's Java client"
pair "$bin/java/tcp-hello-client"
