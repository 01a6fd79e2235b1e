#!/usr/bin/env bash
# run-demo.sh — builds brook and runs the main demo: examples/pageviews, a
# stream-processing program that counts page views per page. It starts the
# bundled broker in-process (no Kafka needed), feeds it synthetic page views,
# runs the topology (group by page → count into a RocksDB store with a
# changelog, through a repartition topic) and prints the resulting table.
# Windows come in a later issue; the demo then becomes a windowed count.
set -euo pipefail
cd "$(dirname "$0")"
./install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

echo "== examples/pageviews on the embedded broker"
build/examples/pageviews
