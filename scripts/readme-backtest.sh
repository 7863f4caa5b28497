#!/usr/bin/env bash
# Regenerates docs/backtest/<scenario>/ with aurora_backtest and splices each
# report's table and targets into README.md between the markers
# <!-- backtest:<scenario> --> and <!-- /backtest:<scenario> -->. The README's
# figures are the command's output, never edited by hand (a test checks).
set -euo pipefail
BIN=${BIN:-bin}
for s in field-avalanche ticket-sale; do
	"$BIN/aurora_backtest" --scenario "$s" --out "docs/backtest/$s" --log.level error >/dev/null
	python3 - "$s" <<'PY'
import re, sys
s = sys.argv[1]
report = open(f"docs/backtest/{s}/report.md").read()
body = report.split("\n", 2)[2].strip()  # drop the title line
readme = open("README.md").read()
begin, end = f"<!-- backtest:{s} -->", f"<!-- /backtest:{s} -->"
new = f"{begin}\n{body}\n{end}"
readme, n = re.subn(re.escape(begin) + r".*?" + re.escape(end), lambda m: new, readme, flags=re.S)
if n != 1:
    sys.exit(f"README.md: markers for {s} found {n} times, want 1")
open("README.md", "w").write(readme)
PY
done
