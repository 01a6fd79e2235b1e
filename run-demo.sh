#!/usr/bin/env bash
# run-demo.sh — builds brook and shows the bundled broker at work: brookd starts
# on a free loopback port with a fresh data directory, kcat produces a few
# records (lz4-compressed) and reads them back, brookd stops cleanly.
set -euo pipefail
cd "$(dirname "$0")"
./install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

data=$(mktemp -d /tmp/brook-demo.XXXXXX)
log="$data/brookd.log"
build/broker/brookd --override listeners=PLAINTEXT://127.0.0.1:0 --override "log.dirs=$data/logs" 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on PLAINTEXT:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || { cat "$log"; echo "brookd did not start"; exit 1; }
echo "== brookd (pid $pid) listening on 127.0.0.1:$port"
echo "== producing 5 records to topic 'demo' with kcat (lz4, acks=all)"
printf 'alice:hello\nbob:brook\ncarol:kafka\ndave:protocol\neve:round trip\n' |
  kcat -b "127.0.0.1:$port" -t demo -P -K: -z lz4 -X acks=all
echo "== consuming them back"
kcat -b "127.0.0.1:$port" -t demo -C -e -o beginning -f 'offset %o  key %k  value %s\n'
echo "== topic metadata"
kcat -b "127.0.0.1:$port" -L -t demo | sed -n '1,6p'
kill -TERM $pid
wait $pid || true
trap 'rm -rf "$data"' EXIT
echo "== brookd log"
cat "$log"
