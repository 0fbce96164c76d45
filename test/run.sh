#!/usr/bin/env bash
# Every test of the project, in the order a failure is cheapest to find:
#   1. type-checks (with Node types, and the core without them: proof it is portable)
#   2. all vitest suites (unit, four real runtimes, Hono, browser, Redis), then the framework apps
#      and the drain test, each on its own
#   3. the unit suites again on Node 22 and 24
#   4. Deno's own check, every JSDoc example type-checked, and a JSR publish dry run
#   5. the npm build, its size budget per entry point, publint and are-the-types-wrong
# Prints one closing line "tests: N passed, N failed" with vitest's counts.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
mkdir -p .tmp
failed_steps=()
step() {
  local name="$1"; shift
  echo
  echo "=== $name"
  if ! "$@"; then failed_steps+=("$name"); echo "=== FAILED: $name"; fi
}

step "typecheck" bash -c "tsc -p tsconfig.json && tsc -p tsconfig.core.json"
step "biome check (lint and format)" biome check src test examples bench
step "vitest" vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json
# Real Next.js, SvelteKit, Nitro, Astro, React Router, Express, Fastify and Elysia apps, installed
# (cached) and built for production on demand: one scenario against each (test/frameworks/).
step "frameworks" vitest run --config test/frameworks/vitest.config.ts
# The drain test alone: its arrival-rate bound needs the two cores to itself (test/operations/).
step "operations (drain)" vitest run --config test/operations/vitest.config.ts

# Unit suites only (no spawned runtimes, browser or Redis) on newer Node versions.
UNIT=$(ls test/*.test.ts test/*/*.test.ts | grep -v -E 'runtimes|browser|redis|examples|cloudflare|demo-page|frameworks|operations|security/.*-runtimes' | tr '\n' ' ')
if [ ! -x test/node-matrix/node_modules/node22/bin/node ] || [ ! -x test/node-matrix/node_modules/node24/bin/node ]; then
  step "install node 22 and 24" npm ci --prefix test/node-matrix --no-audit --no-fund --no-bin-links
fi
for v in 22 24; do
  step "unit tests on node $v" test/node-matrix/node_modules/node$v/bin/node node_modules/vitest/vitest.mjs run $UNIT
done

step "deno check" deno check src/
# Every JSDoc @example, type-checked against the sources and run as a test (test/doc/deno.json
# maps the package's own names to src/ and stands in for jsr:@std/assert, which is not reachable
# offline). The few that need a network server are fenced `ts ignore`, with the reason beside them.
step "deno test --doc (examples)" bash -c 'deno test --quiet --doc --allow-all --config test/doc/deno.json $(find src -name "*.ts" -not -name "_*" | sort | tr "\n" " ")'
step "deno publish --dry-run" deno publish --dry-run --allow-dirty
step "build" tsup --silent
step "size budget" tsx test/size-budget.ts
step "publint" publint --strict
step "attw" attw --pack . --profile node16 --quiet

passed=0; failed=0
if [ -f .tmp/vitest.json ]; then
  read -r passed failed < <(node -e '
    const r = require("./.tmp/vitest.json");
    console.log(r.numPassedTests, r.numFailedTests + (r.numTotalTests === 0 ? 1 : 0));')
fi
echo
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "Failed steps: ${failed_steps[*]}"
  failed=$((failed + ${#failed_steps[@]}))
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
