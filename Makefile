# minivault — every entry point a person or CI needs.
#   make run    installs what is missing, builds, starts one node on defaults (port 3000, ./data)
#   make test   installs what is missing, builds, runs every test
SHELL := /bin/bash
BUILD_DIR ?= build
OPT_DIR   ?= build-opt
FUZZ_DIR  ?= build-fuzz
FUZZ_RUNS ?= 10000000
JOBS      ?= $(shell nproc)
PORT      ?= 3000
DATA      ?= ./data

DEB_PACKAGES := cmake g++ make pkg-config libcaf-dev libsqlite3-dev libzstd-dev \
                libcpp-httplib-dev nlohmann-json3-dev libgtest-dev libgmock-dev \
                libbenchmark-dev clang-format redis-server python3 nodejs libssl-dev openssl \
                clang libclang-rt-14-dev
# Only `make bench` needs these (Redis to compare against, gnuplot for the plot, wrk for
# the HTTP rows of bench/compare.py).
BENCH_PACKAGES := python3 gnuplot-nox wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps bench-deps docker-deps build build-optimized test bench run docker-build \
        docker-run docker-test cluster-up cluster-down docker-cluster-test format clean \
        fuzz fuzz-build fuzz-seeds chaos

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
	fi

bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

# Docker and docker-compose from Debian, and the daemon started when none answers (no
# registry is needed: the image is built FROM scratch).
docker-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="docker.io docker-compose"
	@docker info >/dev/null 2>&1 || { echo "starting dockerd"; \
	  ($(SUDO) dockerd >/var/log/dockerd.log 2>&1 &); \
	  for i in $$(seq 1 50); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; \
	  docker info >/dev/null 2>&1 || { echo "dockerd did not start: see /var/log/dockerd.log"; exit 1; }; }

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

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

# The libFuzzer targets (tests/fuzz/README.md): clang, ASan + UBSan, in $(FUZZ_DIR).
$(FUZZ_DIR)/CMakeCache.txt:
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DMINIVAULT_FUZZ=ON -DMINIVAULT_TESTS=OFF -DMINIVAULT_BENCH=OFF

fuzz-build: deps $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j $(JOBS)

# Every target for FUZZ_RUNS executions, one after another; new coverage is merged into
# tests/fuzz/corpus/. FUZZ_TARGETS="http_codec json_text" runs only those.
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
chaos: build
	python3 tests/wan/chaos.py $(BUILD_DIR)/tests/wan/minivault-netem $(BUILD_DIR)/minivault \
	  --seed $${SEED:-$$RANDOM} --seconds $$(( $(MINUTES) * 60 )) --nodes $(NODES)

# Engine benchmarks and minivault vs Redis (bench/run.sh), then a 3-node cluster next to a
# single node: throughput ratios and convergence latency (bench/cluster.py, ~2 minutes).
bench: build-optimized bench-deps
	bash bench/run.sh $(OPT_DIR)
	@echo
	@echo "== 3-node cluster vs single node, and convergence latency (bench/cluster.py)"
	python3 bench/cluster.py --build $(OPT_DIR) --out bench/results

run: build
	./$(BUILD_DIR)/minivault -port $(PORT) -data $(DATA)

# The image: the optimised binaries plus the shared libraries ldd lists, staged into a
# root filesystem and copied into a FROM scratch image (config/Dockerfile).
IMAGE      ?= minivault:latest
HTTP_PORT  ?= 8080
DOCKER_CTX := $(OPT_DIR)/docker
docker-build: build-optimized docker-deps
	rm -rf $(DOCKER_CTX) && mkdir -p $(DOCKER_CTX)/root/usr/local/bin $(DOCKER_CTX)/root/etc \
	  $(DOCKER_CTX)/root/data $(DOCKER_CTX)/root/tmp
	cp $(OPT_DIR)/minivault $(OPT_DIR)/minivault-cli $(DOCKER_CTX)/root/usr/local/bin/
	for lib in $$(ldd $(OPT_DIR)/minivault $(OPT_DIR)/minivault-cli | \
	              awk '$$2 == "=>" && $$3 ~ /^\// {print $$3} $$1 ~ /^\// {print $$1}' | sort -u); do \
	  cp -L --parents $$lib $(DOCKER_CTX)/root/; \
	done
	printf 'hosts: files dns\n' > $(DOCKER_CTX)/root/etc/nsswitch.conf
	printf '127.0.0.1 localhost\n' > $(DOCKER_CTX)/root/etc/hosts
	cp config/Dockerfile $(DOCKER_CTX)/Dockerfile
	docker build -q -t $(IMAGE) $(DOCKER_CTX)
	@echo "built $(IMAGE): docker run --rm -p $(PORT):3000 -p $(HTTP_PORT):8080 $(IMAGE)"

# One node in a container, data in the named volume minivault-data; Ctrl-C stops it.
docker-run: docker-build
	docker run --rm --init -p $(PORT):3000 -p $(HTTP_PORT):8080 -v minivault-data:/data $(IMAGE)

# Not part of `make test` (it needs a Docker daemon): the image serves both protocols,
# keeps its data across containers and stops cleanly.
docker-test: docker-build
	bash tests/docker/smoke.sh $(IMAGE) $(OPT_DIR)/minivault-cli

# Three clustered nodes from docker-compose.yml (binary 3001-3003, HTTP 8081-8083, one
# named volume each). cluster-down keeps the volumes; `docker-compose down -v` drops them.
# The compose file builds a missing image from $(DOCKER_CTX) rather than pulling one; `down`
# is given the repository root instead when that staging directory is gone (make clean),
# since docker-compose 1.x refuses every command whose build path does not exist.
COMPOSE ?= docker-compose
COMPOSE_ENV = MINIVAULT_IMAGE=$(IMAGE) \
  MINIVAULT_DOCKER_CONTEXT=$$([ -d $(DOCKER_CTX) ] && echo $(DOCKER_CTX) || echo .)
cluster-up: docker-build
	$(COMPOSE_ENV) $(COMPOSE) up -d
	@echo "cluster up: ./$(OPT_DIR)/minivault-cli --port 3001 health; curl localhost:8081/health"

cluster-down: docker-deps
	$(COMPOSE_ENV) $(COMPOSE) down

# Not part of `make test`: the compose cluster end to end (replication across nodes over
# both protocols, a node stopped and restarted catches up), on free ports, in its own
# compose project, removed with its volumes at the end.
docker-cluster-test: docker-build
	COMPOSE="$(COMPOSE)" MINIVAULT_DOCKER_CONTEXT=$(DOCKER_CTX) \
	  bash tests/docker/cluster_smoke.sh $(IMAGE) $(OPT_DIR)/minivault-cli

format: deps
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(OPT_DIR) $(FUZZ_DIR)
