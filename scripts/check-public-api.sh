#!/usr/bin/env bash
# Checks that no JackEngine or CJack type appears in a public signature of the
# WASAPI module, from its symbol graph. (The compiler enforces it too: WASAPI
# imports JackEngine with `internal import`, in one file.) Prints the modules
# whose types the public API names, and exits non-zero on a JACK type.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package dump-symbol-graph --minimum-access-level public >/dev/null
graph=$(find .build -path '*symbolgraph/WASAPI.symbols.json' | head -n 1)
python3 - "$graph" <<'PY'
import json, re, sys
symbols = json.load(open(sys.argv[1]))["symbols"]
modules, leaks = set(), []
for symbol in symbols:
    for fragment in symbol.get("declarationFragments", []):
        if fragment.get("kind") != "typeIdentifier":
            continue
        precise = fragment.get("preciseIdentifier", "")
        match = re.match(r"s:(\d+)(\w+)", precise)
        module = match.group(2)[: int(match.group(1))] if match else "C"
        modules.add(module)
        if module in ("JackEngine", "CJack") or precise.startswith("c:@S@_jack"):
            leaks.append(f'{symbol["names"]["title"]}: {fragment["spelling"]}')
print(f"{len(symbols)} public symbols in WASAPI name types of: {', '.join(sorted(modules))}")
if leaks:
    print("FAIL: JACK types in WASAPI's public API:", *leaks, sep="\n  ")
    sys.exit(1)
print("ok: no JackEngine or CJack type in a public signature")
PY
