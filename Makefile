# Entry points a newcomer needs; each target is a thin wrapper over a script in scripts/ or bench/.
.PHONY: run test stack-up stack-down stack-status bench bench-quick flame drills drills-quick fmt lint

run:            ## Whole pipeline locally: stack, migrations, ingest, query-api, producer-sim
	scripts/run-local.sh

test:           ## Full test suite (brings the local stack up itself)
	scripts/test.sh

stack-up:
	scripts/stack.sh up
stack-down:
	scripts/stack.sh down
stack-status:
	scripts/stack.sh status

bench:          ## Every benchmark next to its same-run reference (~20 min)
	bench/run.sh
bench-quick:
	bench/run.sh --quick
flame:          ## Flame graphs of query-api's read path (perf + inferno) into docs/flamegraphs/
	bench/flame.sh

drills:         ## Reliability drills (kill, outage, rebalance, replay) with loss/duplicate checks
	scripts/drills.sh
drills-quick:
	scripts/drills.sh --quick

fmt:
	cargo fmt --all
lint:           ## What CI lints: rustfmt, clippy, ruff, shellcheck, file sizes, cargo-deny
	scripts/lint.sh
