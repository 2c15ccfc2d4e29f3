#!/usr/bin/env bash
# Regenerates registry/avro/compat-cases.expected.json from registry/avro/compat-cases.json with Apache Avro's
# own SchemaCompatibility (Java 17 + Maven). `--check` only compares and fails on a difference.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cases="$here/../avro/compat-cases.json"
expected="$here/../avro/compat-cases.expected.json"
out="$(mktemp)"
(cd "$here" && mvn -q -B -Dstyle.color=never compile exec:java -Dexec.args="$cases") | sed 's/\x1b\[[0-9;]*m//g' > "$out"
if [[ "${1:-}" == "--check" ]]; then
  diff <(node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(0,"utf8"))))' < "$out") \
       <(node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(0,"utf8"))))' < "$expected")
  echo "compat-oracle: fixture agrees with Apache Avro"
else
  node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(0,"utf8")),null,2)+"\n")' < "$out" > "$expected"
  echo "compat-oracle: wrote $expected"
fi
