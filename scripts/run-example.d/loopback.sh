# Sourced by the NAT examples' demos: coturn and free ports on 127.0.0.1, no root, no
# NAT (make nat-lab has the real thing). Needs scripts/ready sourced first (free_port).

# coturn on 127.0.0.1:$1 with the kit's credentials (kit / kit-secret, realm
# kit.example), relaying between loopback peers; its pid in coturn_pid, ready.
start_coturn() {
  command -v turnserver >/dev/null ||
    { echo "coturn is not installed: apt-get install -y coturn (./kit does it)" >&2; return 1; }
  local relay
  relay=$(free_port)
  turnserver --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port "$1" \
    --min-port "$relay" --max-port $((relay + 3)) --lt-cred-mech --user kit:kit-secret \
    --realm kit.example --no-tls --no-dtls --no-cli --allow-loopback-peers \
    --log-file stdout >/dev/null 2>&1 &
  coturn_pid=$!
  wait_ready "$coturn_pid" || { echo "coturn did not start on port $1" >&2; return 1; }
}

# bin/<flavor>/<program>, or a clear word on why it is not there.
built() {
  if [[ -z $(scripts/inventory --program "$1" --flavor "$2") ]]; then
    echo "$1 has no $2 flavor; it has: $(scripts/inventory --program "$1" --print flavors)" >&2
    return 2
  fi
  [[ -x bin/$2/$1 ]] || { echo "bin/$2/$1 is not built (make build)" >&2; return 2; }
}
