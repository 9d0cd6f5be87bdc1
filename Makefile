# minivault — every entry point a person or CI needs.
#   make run    installs what is missing, builds, starts one node on defaults (port 3000, ./data)
#   make test   installs what is missing, builds, runs every test
SHELL := /bin/bash
BUILD_DIR ?= build
OPT_DIR   ?= build-opt
JOBS      ?= $(shell nproc)
PORT      ?= 3000
DATA      ?= ./data

DEB_PACKAGES := cmake g++ make pkg-config libcaf-dev libsqlite3-dev libzstd-dev \
                libcpp-httplib-dev nlohmann-json3-dev libgtest-dev libgmock-dev \
                libbenchmark-dev clang-format redis-server python3 nodejs
# Only `make bench` needs these (Redis to compare against, gnuplot for the plot, wrk for
# the HTTP rows of bench/compare.py).
BENCH_PACKAGES := python3 gnuplot-nox wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps bench-deps build build-optimized test bench run format clean

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

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# -O3, LTO, stripped: what gets measured and shipped.
build-optimized: deps
	cmake -S . -B $(OPT_DIR) -DCMAKE_BUILD_TYPE=Release -DMINIVAULT_LTO=ON \
	  -DCMAKE_CXX_FLAGS_RELEASE="-O3 -DNDEBUG" -DCMAKE_EXE_LINKER_FLAGS="-s"
	cmake --build $(OPT_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j 2

bench: build-optimized bench-deps
	bash bench/run.sh $(OPT_DIR)

run: build
	./$(BUILD_DIR)/minivault -port $(PORT) -data $(DATA)

format: deps
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(OPT_DIR)
