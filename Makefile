# heartbeatd — build, run and test. `make run` and `make test` install what is missing first.
SWIFT ?= swift
BUILD_DIR ?= .build/release
CONFIG ?=

.PHONY: deps test-deps build release run check-imports lint test chaos fuzz fuzz-ci sanitize soak soak-short clean

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# Runs the daemon in the foreground on its built-in defaults (listen 0.0.0.0:7700), or on CONFIG=file.
run: build
	.build/debug/heartbeatd $(if $(CONFIG),--config $(CONFIG),)

# Every import against docs/design.md's module table, and the check's own tests (a violation must fail).
check-imports:
	python3 scripts/test_check_imports.py
	python3 scripts/check-imports.py

# The formatter's verdict (.swift-format: 4 spaces, lines <= 120), after its own tests show a violation failing.
# `swift format -i -r Sources Tests Package.swift Benchmarks clients/swift` fixes most of what it reports.
lint:
	python3 scripts/test_lint.py
	scripts/lint.sh

# Every test: the import check, the Swift Testing suites (real daemon over loopback; the client package's
# modules are tested there too), the C and Python clients against the real daemon (clients/test/), the
# short network chaos run (Tests/chaos/, root only), the Swift example of docs/client.md built against
# clients/swift and run, then the system tests under a real systemd when that is possible here (see
# Tests/system/).
test: test-deps check-imports
	$(SWIFT) build --build-tests
	$(SWIFT) test
	python3 clients/test/run.py --bin .build/debug
	python3 Tests/chaos/run.py --bin .build/debug
	python3 scripts/test_doc_example.py --bin .build/debug
	@if [ -x Tests/system/run.sh ]; then Tests/system/run.sh; fi

# The network chaos conditions at full length (2 s delay, 10 s link down, 44 clients; about two minutes):
# root, `ip` and /dev/net/tun. `make test` runs the short version. See docs/tuning.md.
chaos: build
	python3 Tests/chaos/run.py --bin .build/debug --long

# libFuzzer on every parser of untrusted bytes (Fuzz/, built with -sanitize=fuzzer,address in .build-fuzz),
# each target for FUZZ_SECONDS on its seed corpus; a crash fails and leaves the input in .build-fuzz/artifacts/.
# `make fuzz-ci` gives each 20 s, as .ci/run does. See docs/fuzzing.md.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-ci:
	scripts/fuzz.sh 20

# Chosen Swift Testing suites under AddressSanitizer (+ UBSan for the C/C++ code) and ThreadSanitizer, in
# builds of their own (.build-asan, .build-tsan) that include heartbeatd, so the daemon suites run a sanitized
# daemon; a report from any process fails. See scripts/sanitize.sh for the suites and docs/fuzzing.md.
sanitize: test-deps
	scripts/sanitize.sh

# One release daemon under hold (5,000 clients at 1/s) + churn + kicks + reloads for SOAK_MINUTES, sampled every
# minute (RSS, descriptors, CLOSE-WAIT, sessions); prints the verdict and leaves the samples in SOAK_OUT (default:
# a new /var/tmp/heartbeatd-soak.* directory). `make soak-short` is a 2-minute smoke on the debug build.
# Ports 26100 (override with SOAK_PORT). See docs/benchmarks.md, "Soak".
SOAK_MINUTES ?= 60
SOAK_PORT ?= 26100
soak:
	$(SWIFT) build -c release --product heartbeatd
	$(SWIFT) build -c release --product heartbeatctl
	$(SWIFT) build -c release --product heartbeat-bench
	scripts/soak.sh --minutes $(SOAK_MINUTES) --port $(SOAK_PORT) $(if $(SOAK_OUT),--out $(SOAK_OUT),)

soak-short: build
	scripts/soak.sh --short --bin .build/debug --port $(SOAK_PORT)

clean:
	rm -rf .build .build-*

-include deploy/install.mk
