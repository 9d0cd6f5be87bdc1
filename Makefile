# minivault — every entry point a person or CI needs.
#   make run    installs what is missing, builds the node and the CLI only, starts one node
#               (binary protocol on PORT 3000, HTTP on HTTP_PORT 8080, data in ./data)
#   make test   installs what is missing, builds everything, runs every test
# Side effects outside the tree, all stated when they happen: Debian packages installed
# with apt-get (redis-server's system service is stopped and disabled right after make
# installs it: the tests start their own), dockerd started by docker-deps (make
# docker-stop stops it), the debian:bookworm base image made by docker-base.
SHELL := /bin/bash
# Progress lines from CMake, not "Entering directory" lines from every recursive make.
MAKEFLAGS += --no-print-directory
BUILD_DIR ?= build
OPT_DIR   ?= build-opt
FUZZ_DIR  ?= build-fuzz
FUZZ_RUNS ?= 10000000
JOBS      ?= $(shell nproc)
PORT      ?= 3000
HTTP_PORT ?= 8080
DATA      ?= ./data

# What configuring and building needs (CMake finds GTest, benchmark, python3 and nodejs
# even when only the node is built: the client tests are configured with the rest),
# then what the tests add: redis-server (load_test compares against a redis-server it
# starts itself), clang (fuzz build, and the thread-safety check tests/lint runs),
# clang-format (make format-check), iproute2 (`ip netns` for the WAN and fault tests
# in tests/wan).
BUILD_PACKAGES := cmake g++ make pkg-config libcaf-dev libsqlite3-dev libzstd-dev \
                  libcpp-httplib-dev nlohmann-json3-dev libgtest-dev libgmock-dev \
                  libbenchmark-dev libssl-dev openssl python3 nodejs
DEB_PACKAGES := $(BUILD_PACKAGES) clang-format redis-server clang \
                libclang-rt-14-dev iproute2
# Packages whose install starts a system service make does not need: stopped and disabled
# right after make installs them (never touched when they were already installed).
QUIET_SERVICES := redis-server
# Only `make bench` needs these (Redis to compare against, gnuplot for the plot, wrk for
# the HTTP rows of bench/compare.py).
BENCH_PACKAGES := python3 gnuplot-nox wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build-deps bench-deps docker-deps docker-base docker-stop build \
        build-optimized test bench run docker-build docker-run docker-test cluster-up \
        cluster-down docker-cluster-test format format-check format-deps clean fuzz \
        fuzz-build fuzz-seeds chaos install package package-test tour-docker-test

all: build

# Installs only the Debian packages that are missing; `apt-get update` runs only when
# something is missing and the first install attempt fails (stale or empty lists).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -qq $$missing || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; }; \
	  for s in $(QUIET_SERVICES); do \
	    case " $$missing " in *" $$s "*) ;; *) continue ;; esac; \
	    if [ -d /run/systemd/system ]; then $(SUDO) systemctl disable --now -q $$s 2>/dev/null; \
	    else $(SUDO) service $$s stop >/dev/null 2>&1; $(SUDO) update-rc.d $$s disable >/dev/null 2>&1; fi; \
	    echo "note: installed $$s for the tests; its system service is stopped and disabled" \
	         "(systemctl enable --now $$s to have it back)"; \
	  done; \
	fi

build-deps:
	@$(MAKE) deps DEB_PACKAGES="$(BUILD_PACKAGES)"

bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

# Docker and docker-compose from Debian, the daemon started when none answers (its PID
# kept in DOCKERD_PIDFILE so that `make docker-stop` stops it, and only it), and the
# debian:bookworm base image the Dockerfile builds from (docker-base).
DOCKERD         ?= dockerd
DOCKERD_PIDFILE ?= /run/minivault-dockerd.pid
docker-deps:
	@$(MAKE) deps DEB_PACKAGES="docker.io docker-compose debootstrap"
	@docker info >/dev/null 2>&1 || { echo "starting dockerd (make docker-stop stops it)"; \
	  ($(SUDO) $(DOCKERD) >/var/log/dockerd.log 2>&1 & echo $$! | $(SUDO) tee $(DOCKERD_PIDFILE) >/dev/null); \
	  for i in $$(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not start: see /var/log/dockerd.log"; exit 1; }; }
	@$(MAKE) docker-base

# The build stage's base image. Where a registry answers, `docker build` pulls it; where
# none does (as on the machine this was developed on), it is made once from Debian's own
# mirror: debootstrap (minbase) + docker import, tagged debian:bookworm. Skipped when
# the image exists.
DEBIAN_MIRROR ?= http://deb.debian.org/debian
docker-base:
	@docker image inspect debian:bookworm >/dev/null 2>&1 || docker pull -q debian:bookworm >/dev/null 2>&1 || { \
	  echo "no registry answers: making debian:bookworm with debootstrap from $(DEBIAN_MIRROR) (a few minutes, once)"; \
	  root=$$(mktemp -d /var/tmp/minivault-bookworm-XXXXXX) && chmod 755 $$root; \
	  $(SUDO) debootstrap --variant=minbase bookworm $$root $(DEBIAN_MIRROR) >/var/tmp/minivault-debootstrap.log 2>&1 \
	    || { echo "debootstrap failed: see /var/tmp/minivault-debootstrap.log"; $(SUDO) rm -rf $$root; exit 1; }; \
	  $(SUDO) tar -C $$root -c . | docker import - debian:bookworm >/dev/null; rc=$$?; \
	  $(SUDO) rm -rf $$root; [ $$rc = 0 ] && echo "made debian:bookworm"; exit $$rc; }

# Stops the dockerd that docker-deps started (and nothing else: a daemon this Makefile
# did not start is left alone, and said so).
docker-stop:
	@if [ -f $(DOCKERD_PIDFILE) ] && pid=$$(cat $(DOCKERD_PIDFILE)) && kill -0 $$pid 2>/dev/null; then \
	  echo "stopping the dockerd make started (pid $$pid)"; $(SUDO) kill $$pid; \
	  for i in $$(seq 1 100); do kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	  $(SUDO) rm -f $(DOCKERD_PIDFILE); \
	else $(SUDO) rm -f $(DOCKERD_PIDFILE); echo "no dockerd started by make is running; nothing stopped"; fi

$(BUILD_DIR)/CMakeCache.txt:
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# -O3, LTO, stripped: what gets measured and shipped.
build-optimized: deps
	cmake -S . -B $(OPT_DIR) -DCMAKE_BUILD_TYPE=Release -DMINIVAULT_LTO=ON \
	  -DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG" -DCMAKE_EXE_LINKER_FLAGS="-s"
	cmake --build $(OPT_DIR) -j $(JOBS)

# ctest replays every fuzz corpus (fuzz_replay_*); then each libFuzzer target runs briefly.
test: build fuzz-build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j 2
	bash tests/fuzz/run.sh --smoke $(FUZZ_DIR)

# The libFuzzer targets (tests/fuzz/README.md): clang, ASan + UBSan, in $(FUZZ_DIR). The
# configure step always runs (a second): building a named target does not re-run it.
fuzz-build: deps
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DMINIVAULT_FUZZ=ON -DMINIVAULT_TESTS=OFF \
	  -DMINIVAULT_BENCH=OFF >/dev/null
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_targets

# Every target for FUZZ_RUNS executions, one after another; each corpus is then minimized
# with the new finds (tests/fuzz/corpus/). FUZZ_TARGETS="http_codec json_text": only those.
fuzz: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_RUNS) $(FUZZ_TARGETS)

# Rewrites the seed inputs (seed-*) of tests/fuzz/corpus/ from the codecs' encoders.
fuzz-seeds: fuzz-build
	./$(FUZZ_DIR)/tests/fuzz/fuzz_write_seeds tests/fuzz/corpus config

# A long randomized fault schedule on the WAN emulator (tests/wan/README.md): MINUTES (10)
# of faults with SEED (random when unset; printed, so a run can be replayed), then heal,
# converge and check that no acknowledged write was lost. Needs root (namespaces).
MINUTES ?= 10
NODES   ?= 3
REGIONS ?= 1
chaos: build
	python3 tests/wan/chaos.py $(BUILD_DIR)/tests/wan/minivault-netem $(BUILD_DIR)/minivault \
	  --seed $${SEED:-$$RANDOM} --seconds $$(( $(MINUTES) * 60 )) --nodes $(NODES) \
	  --regions $(REGIONS)

# Engine benchmarks and minivault vs Redis (bench/run.sh), then a 3-node cluster next to a
# single node: throughput ratios and convergence latency (bench/cluster.py, ~2 minutes),
# then regions on the WAN emulator (bench/geo.py, ~1.5 minutes; skipped without root).
bench: build-optimized bench-deps
	bash bench/run.sh $(OPT_DIR)
	@echo
	@echo "== 3-node cluster vs single node, and convergence latency (bench/cluster.py)"
	python3 bench/cluster.py --build $(OPT_DIR) --out bench/results
	@echo
	@echo "== memory and restart with 2M keys, minivault vs Redis (bench/footprint.py)"
	python3 bench/footprint.py --build $(OPT_DIR) --out bench/results
	@echo
	@echo "== regions on the WAN emulator, 40 ms one-way (bench/geo.py)"
	python3 bench/geo.py --build $(OPT_DIR) --out bench/results

# Only the two binaries it runs (the tests are `make build`'s business), then one node
# with HTTP on: the README's tour runs against it. minivault-cli is ./$(BUILD_DIR)/minivault-cli.
run: build-deps $(BUILD_DIR)/CMakeCache.txt
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target minivault minivault-cli
	@echo "minivault-cli is in $(BUILD_DIR)/ (export PATH=\"$$PWD/$(BUILD_DIR):\$$PATH\")"
	$(BUILD_DIR)/minivault -port $(PORT) -http $(HTTP_PORT) -data $(DATA) $(RUN_FLAGS)

# The image, from the multi-stage Dockerfile: a debian:bookworm stage builds the node and
# the CLI (nothing else), a FROM scratch stage holds them and the libraries they load.
IMAGE        ?= minivault:latest
DOCKER_BUILD ?= docker build
docker-build: docker-deps
	$(DOCKER_BUILD) -q -t $(IMAGE) .
	@echo "built $(IMAGE) ($$(docker image inspect -f '{{.Size}}' $(IMAGE) | awk '{printf "%.1f MB", $$1/1e6}'))"

# One node in a container, data in the named volume minivault-data; Ctrl-C stops it.
# Published on loopback only; HOST_IP=0.0.0.0 publishes it on every interface.
HOST_IP ?= 127.0.0.1
docker-run: docker-build
	docker run --rm --init -p $(HOST_IP):$(PORT):3000 -p $(HOST_IP):$(HTTP_PORT):8080 \
	  -v minivault-data:/data $(IMAGE)

# Not part of `make test` (it needs a Docker daemon): the image serves both protocols,
# keeps its data across containers and stops cleanly.
docker-test: docker-build
	bash tests/docker/smoke.sh $(IMAGE)

# Three clustered nodes from docker-compose.yml (binary 3001-3003, HTTP 8081-8083 on
# 127.0.0.1, one named volume each). cluster-down keeps the volumes; `docker-compose
# down -v` drops them.
COMPOSE ?= docker-compose
COMPOSE_ENV = MINIVAULT_IMAGE=$(IMAGE)
cluster-up: docker-build
	$(COMPOSE_ENV) $(COMPOSE) up -d
	@echo "cluster up: curl localhost:8081/health; docker-compose exec node1 minivault-cli health"

cluster-down:
	$(COMPOSE_ENV) $(COMPOSE) down

# Not part of `make test`: the compose cluster end to end (replication across nodes over
# both protocols, a node stopped and restarted catches up), on free ports, in its own
# compose project, removed with its volumes at the end.
docker-cluster-test: docker-build
	COMPOSE="$(COMPOSE)" bash tests/docker/cluster_smoke.sh $(IMAGE)

# The node, the CLI, the systemd unit, the service config and the Python/JS clients under
# PREFIX, staged under DESTDIR when it is set (cmake/packaging.cmake lists what goes where).
PREFIX ?= /usr/local
install: build-deps $(BUILD_DIR)/CMakeCache.txt
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target minivault minivault-cli
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)

# The Debian package (CPack's DEB generator) in PKG_DIR: Release, LTO, stripped, prefix
# /usr, no tests or benchmarks built. Install it with apt-get install ./$(PKG_DIR)/minivault_*.deb.
PKG_DIR ?= build-pkg
package: build-deps
	@cmake -S . -B $(PKG_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
	  -DMINIVAULT_TESTS=OFF -DMINIVAULT_BENCH=OFF -DMINIVAULT_LTO=ON \
	  -DCMAKE_EXE_LINKER_FLAGS=-s >/dev/null
	@cmake --build $(PKG_DIR) -j $(JOBS)
	@cd $(PKG_DIR) && cpack -G DEB >/dev/null
	@ls -l $(PKG_DIR)/*.deb

# Installs the package in a fresh debootstrap root (DEB_ROOT: an existing one instead) and
# runs the service's command there as its user (tests/packaging/deb_chroot_test.sh).
package-test: package
	$(SUDO) bash tests/packaging/deb_chroot_test.sh $$(ls $(PKG_DIR)/minivault_*.deb | tail -1) $(DEB_ROOT)

# The README tour's docker part, verbatim, from a fresh clone of this repository's
# committed state (its ```sh tour-docker block; the other blocks run in ctest).
tour-docker-test: docker-deps
	bash tests/tour/readme_tour.sh --docker .

# clang-format only (not the whole dependency list), installed when missing.
format-deps:
	@$(MAKE) deps DEB_PACKAGES="clang-format"

# Rewrites every tracked .cpp/.hpp in place to .clang-format's style.
format: format-deps
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

# Changes nothing; fails, naming each file and line, when a tracked .cpp/.hpp differs
# from what `make format` would write. CI (.ci/run) runs it before make test.
format-check: format-deps
	@clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.hpp') \
	  || { echo "format-check: the files above drift from .clang-format; make format fixes them"; exit 1; }

clean:
	rm -rf $(BUILD_DIR) $(OPT_DIR) $(FUZZ_DIR) $(PKG_DIR)
