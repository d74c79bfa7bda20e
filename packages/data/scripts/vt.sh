#!/bin/sh
# Runs vitest with the JSON reporter and prints failures readably. (vitest 5.1's default reporter crashes on
# Node 20 with "Map.groupBy is not a function" when a test fails, hiding the failure.) Usage: scripts/vt.sh [files]
out=$(mktemp)
npx vitest run --exclude '**/*.slow.test.ts' --reporter=json --outputFile="$out" "$@" >/dev/null 2>&1
rc=$?
node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const f of d.testResults) {
  for (const a of f.assertionResults) {
    console.log(a.status.padEnd(7), a.fullName, a.duration ? `(${Math.round(a.duration)} ms)` : "");
    for (const m of a.failureMessages || []) console.log("   ", m.split("\n").slice(0, 12).join("\n    "));
  }
  if (f.message) console.log("FILE", f.name, f.message.slice(0, 3000));
}
console.log(`passed ${d.numPassedTests}, failed ${d.numFailedTests}, skipped ${d.numPendingTests}`);
' "$out"
rm -f "$out"
exit $rc
