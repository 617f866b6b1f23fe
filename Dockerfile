# Tern in a container: `docker build -t tern .` from the repository root.
# Running it (ports, host networking, config): docs/production.md.

# Build stage: the release binary. The cache mounts keep crates.io downloads
# and compiled dependencies between builds (BuildKit, Docker's default builder).
FROM rust:bookworm AS build
WORKDIR /src
# libopus: RTMP ingest transcodes AAC to Opus (crates/ingest).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopus-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . .
# The release profile keeps line tables (135 MB of the 160 MB binary): the
# image keeps symbol names for backtraces and drops the rest.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tern-server \
    && strip --strip-debug -o /usr/local/bin/tern target/release/tern

# Runtime stage: glibc, CA certificates (webhooks to https:// receivers) and
# the binary, run as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libopus0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/tern --shell /usr/sbin/nologin tern \
    && install -d -o tern -g tern -m 0750 /var/lib/tern
COPY --from=build /usr/local/bin/tern /usr/local/bin/tern
# The documented config, for reference; pass one with TERN_CONFIG (or --config).
COPY config.example.toml /etc/tern/tern.example.toml
USER tern
WORKDIR /var/lib/tern
ENV TERN_DATA_DIR=/var/lib/tern \
    TERN_LOG=info
# tern.db: broadcasts, tokens, subscribers and settings survive the container.
VOLUME ["/var/lib/tern"]
# HTTP/WebSocket (HTTPS/WSS with TLS configured), and the first media worker's
# UDP port: worker i uses 50000 + i, one worker per core unless
# TERN_MEDIA_WORKERS says otherwise.
EXPOSE 5080/tcp 50000/udp 50000/tcp 3478/udp 3478/tcp 5349/tcp 1935/tcp 4200/udp
# Tern handles SIGTERM itself: server_will_stop to every session, then exit 0
# after shutdown_drain_ms (3 s), well within the 10 s `docker stop` waits.
ENTRYPOINT ["/usr/local/bin/tern"]
