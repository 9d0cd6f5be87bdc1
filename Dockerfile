# minivault image: `docker build -t minivault .` (or `docker compose up -d`, which builds it).
#
# Stage 1 builds only the node and the CLI (no tests, no benchmarks: -O2, LTO, stripped)
# on Debian bookworm. Stage 2 is FROM scratch: the two binaries and exactly the shared
# libraries they load (as ldd lists them), plus what name lookups need. Where no registry
# answers, `make docker-base` makes debian:bookworm locally (debootstrap + docker import).
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config libcaf-dev libsqlite3-dev libzstd-dev libcpp-httplib-dev \
      nlohmann-json3-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DMINIVAULT_TESTS=OFF -DMINIVAULT_BENCH=OFF \
      -DMINIVAULT_LTO=ON -DCMAKE_EXE_LINKER_FLAGS=-s >/dev/null \
 && cmake --build /build -j "$(nproc)" --target minivault minivault-cli
# The runtime root: binaries, their libraries, /etc for name lookups, /data and /tmp.
RUN mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/data /rootfs/tmp \
 && cp /build/minivault /build/minivault-cli /rootfs/usr/local/bin/ \
 && for lib in $(ldd /build/minivault /build/minivault-cli \
                 | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u); do \
      cp -L --parents "$lib" /rootfs/; \
    done \
 && printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
VOLUME /data
# 3000: binary protocol; 8080: HTTP/JSON; 4000: the peers (cluster port = client port + 1000).
EXPOSE 3000 8080 4000
# -bind 0.0.0.0 is explicit, so protected mode is off in the container: clients arrive
# through Docker's network (not loopback), and who reaches the ports is decided where
# they are published (`-p 127.0.0.1:3000:3000` keeps them on the host's loopback).
ENTRYPOINT ["/usr/local/bin/minivault", "-data", "/data", "-port", "3000", "-http", "8080", \
            "-bind", "0.0.0.0"]
