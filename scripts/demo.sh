#!/usr/bin/env bash
# The main job: installs what is missing, builds the command-line tool and
# runs its demo, which starts a private JACK server when none is running.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/install-deps.sh
swift build -c release --product wasapi-jack
exec .build/release/wasapi-jack demo "$@"  # starts a private server by itself when none answers
