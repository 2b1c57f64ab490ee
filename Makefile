# heartbeatd — build, run and test. `make run` and `make test` install what is missing first.
SWIFT ?= swift
BUILD_DIR ?= .build/release
CONFIG ?=

# Every test: the import check, the Swift Testing suites (real daemon over loopback), the C and Python
# clients against the real daemon (clients/test/), the short network chaos run (Tests/chaos/, root only),
# then the system tests under a real systemd when that is possible here (see Tests/system/).
test: test-deps check-imports

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

# Every test: the import check, the Swift Testing suites (real daemon over loopback), the C and Python
# clients against the real daemon (clients/test/), the short network chaos run (Tests/chaos/, root only),
# then the system tests under a real systemd when that is possible here (see Tests/system/).
test: test-deps check-imports
	$(SWIFT) build --build-tests
	$(SWIFT) test
	python3 clients/test/run.py --bin .build/debug
	python3 Tests/chaos/run.py --bin .build/debug
	@if [ -x Tests/system/run.sh ]; then Tests/system/run.sh; fi

# The network chaos conditions at full length (2 s delay, 10 s link down, 44 clients; about two minutes):
# root, `ip` and /dev/net/tun. `make test` runs the short version. See docs/tuning.md.
chaos: build
	python3 Tests/chaos/run.py --bin .build/debug --long

clean:
	rm -rf .build .build-*

-include deploy/install.mk
