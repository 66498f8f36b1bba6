#!/usr/bin/env bash
# The main job on the bundled simulator: start it with a few thousand items (a few numbers held
# by two items, as real agencies' data has them), run
# `safe-tracker sync` into a fresh SQLite file (progress display on a terminal), then print a
# summary and one sample record.
set -euo pipefail
BIN=${1:?path to safe-tracker}
ITEMS=${DEMO_ITEMS:-3000}
DUPLICATES=${DEMO_DUPLICATES:-3}
WORK=$(mktemp -d)
trap 'kill $SIM_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" simulate --items "$ITEMS" --duplicates "$DUPLICATES" --quiet > "$WORK/sim.out" &
SIM_PID=$!
for _ in $(seq 1 200); do [ -s "$WORK/sim.out" ] && break; sleep 0.05; done
export SAFE_BASE_URL
SAFE_BASE_URL=$(head -1 "$WORK/sim.out")
export SAFE_TOKEN=sim-token-org1 SAFE_ORGANIZATION_ID=1 SAFE_OFFICE_ID=101
# Loopback simulator: pacing off. Against the real SAFE keep the default pacing.
export SAFE_REQUESTS_PER_SECOND=0
echo "simulator: $SAFE_BASE_URL with $ITEMS numbered items, $DUPLICATES numbers held by a second item"
"$BIN" check
"$BIN" sync --db "$WORK/demo.db" --expand form_data,case
python3 - "$WORK/demo.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, numbers, lo, hi = db.execute("select count(*), count(distinct sequential_org_id), min(sequential_org_id), max(sequential_org_id) from items").fetchone()
shared = db.execute("select count(*) from (select sequential_org_id from items group by sequential_org_id having count(*) > 1)").fetchone()[0]
print(f"database: {n} items (one row per item id) under {numbers} numbers {lo}..{hi}, {shared} numbers held by two items,"
      f" {db.execute('select count(*) from sync_log').fetchone()[0]} log entries")
row = db.execute("select sequential_org_id, item_json, case_json from items where sequential_org_id = ?", (max(1, n // 2),)).fetchone()
item, case = json.loads(row[1]), json.loads(row[2] or "null")
print(f"sample record #{row[0]}: {item['description']!r}, recovered {item['recoveryDate']} at {item['recoveryLocation']!r},"
      f" status {item['status']!r}, case {case['caseNumber'] if case else None} ({case['offenseType'] if case else ''})")
PY
