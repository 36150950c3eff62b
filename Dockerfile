# One image for the whole pipeline: /usr/local/bin/{ingest,query-api,producer-sim}
# plus the SQL schema in /app/migrations. Pick the binary with the container
# command, e.g. `ingest run`, `ingest migrate up`, `query-api`, `producer-sim --rate 5`.
#
#   docker build -t order-pipeline:local .
#
# TLS: librdkafka links the system OpenSSL (libssl3, installed below with
# ca-certificates, whose CAs are also the default trust of every client).
#
# BuildKit is required (cache mounts; it is the default builder since Docker 23).
# The cargo registry, git checkouts and the target directory live in cache
# mounts, so a rebuild after a source change only recompiles the workspace
# crates, not librdkafka and the dependency tree.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

############################ builder ############################
FROM ${RUST_IMAGE} AS builder

# rdkafka builds a bundled librdkafka with TLS and SASL (PLAIN, SCRAM): it needs
# a C/C++ toolchain, OpenSSL and zlib headers (perl/python3 are used by its build
# scripts). PostgreSQL, Redis and OTLP use rustls (ring), built from source here.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libssl-dev zlib1g-dev perl python3

WORKDIR /src
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# The build context is filtered by .dockerignore (no target/, .stack/, .git/).
COPY . .

# --locked when a Cargo.lock is committed, so images build what CI tested.
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=order-pipeline-target,target=/src/target,sharing=locked \
    set -eux; \
    locked=""; if [ -f Cargo.lock ]; then locked="--locked"; fi; \
    cargo build --release $locked --workspace --bins; \
    mkdir -p /out; \
    for b in ingest query-api producer-sim; do cp "target/release/$b" /out/; done

############################ runtime ############################
FROM ${RUNTIME_IMAGE} AS runtime

RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin app

COPY --from=builder /out/ingest /out/query-api /out/producer-sim /usr/local/bin/
# Owned by root: the app user can read, not change, the schema files.
COPY migrations/ /app/migrations/

WORKDIR /app
USER 10001:10001

ENV RUST_LOG=info \
    LOG_FORMAT=text \
    HTTP_ADDR=0.0.0.0:8080 \
    METRICS_ADDR=0.0.0.0:9100

# query-api HTTP, ingest metrics/health
EXPOSE 8080 9100

CMD ["ingest", "run"]
