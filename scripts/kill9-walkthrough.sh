#!/usr/bin/env bash
# docs/local.md's walkthrough, scripted: `npm run demo`, `kill -9` while its
# rotations run, then `npm start` on the same data directory, and wait until
# every rotation the kill interrupted has ended. Prints each rotation's status.
#
#   scripts/kill9-walkthrough.sh [seconds after the demo's first rotation line before the kill, default 3]
#
# Runs in a temporary ROTOR_STATE_DIR, so it touches no .rotor of yours.
set -euo pipefail
cd "$(dirname "$0")/.."
delay="${1:-3}"
state="$(mktemp -d "${TMPDIR:-/tmp}/rotor-walkthrough-XXXXXX")"
export ROTOR_STATE_DIR="$state"
echo "state: $state"

node --input-type=module -e "const l = await import('./scripts/launch.mjs'); if (l.needsBuild() && !l.build()) process.exit(1);"
node scripts/launch.mjs dist/src/local/demo/main.js >"$state/demo.out" 2>&1 &
demo=$!
for _ in $(seq 1 600); do
  grep -q 'expires within 30 days' "$state/demo.out" && break
  kill -0 "$demo" 2>/dev/null || { echo "the demo ended before the kill:"; cat "$state/demo.out"; exit 1; }
  sleep 0.5
done
sleep "$delay"
kill -9 "$demo"
wait "$demo" 2>/dev/null || true
echo "killed the demo (pid $demo) ${delay} s after: $(grep -c . "$state/demo.out") lines of output"

node scripts/launch.mjs dist/src/local/main.js --json >"$state/start.out" 2>"$state/start.err" &
start=$!
trap 'kill "$start" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q '"api"' "$state/start.out" && break
  kill -0 "$start" 2>/dev/null || { echo "npm start ended:"; cat "$state/start.err"; exit 1; }
  sleep 0.5
done
began=$(date +%s)
node --input-type=module - "$state/start.out" <<'EOF'
import { readFileSync } from 'node:fs';
const e = JSON.parse(readFileSync(process.argv[2], 'utf8').split('\n').find((l) => l.includes('"api"')));
const terminal = new Set(['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped', 'Cancelled']);
const call = async (path) => (await fetch(`${e.api.baseUrl}${path}`, { headers: { 'x-functions-key': e.api.functionKey } })).json();
const began = Date.now();
for (;;) {
  const secrets = (await call('/secrets')).items.map((s) => s.name);
  const rotations = [];
  for (const name of secrets) for (const r of (await call(`/secrets/${encodeURIComponent(name)}/rotations?limit=100`)).items) rotations.push({ name, ...r });
  const open = rotations.filter((r) => !terminal.has(r.status));
  if (open.length === 0 || Date.now() - began > 600_000) {
    for (const r of rotations) console.log(`${r.name.padEnd(28)} ${r.status.padEnd(10)} ${r.trigger.kind.padEnd(6)} created ${r.createdAt}  ended ${r.endedAt ?? '-'}${r.reason ? `  (${r.reason.slice(0, 80)})` : ''}`);
    console.log(open.length === 0 ? `every rotation ended, ${Math.round((Date.now() - began) / 1000)} s after npm start served` : `NOT ENDED after 10 minutes: ${open.map((r) => r.id).join(', ')}`);
    process.exit(open.length === 0 ? 0 : 1);
  }
  await new Promise((r) => setTimeout(r, 2000));
}
EOF
echo "npm start served for $(( $(date +%s) - began )) s; logs in $state"
