#!/bin/sh
# Installs the npm packages the real-browser test serves to Chromium (web-vitals, the
# Grafana Faro web SDK and the Elastic APM RUM agent), exactly as locked in js/package-lock.json.
set -eu
cd "$(dirname "$0")/js"
npm ci --no-audit --no-fund
