# syntax=docker/dockerfile:1
# sandbox-broker: multi-stage build. The builder uses the same Rust release
# the project is developed and tested with; the runtime is a small Debian
# image with the binary, the baked configuration and a non-root user.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/api && echo 'fn main() {}' > src/main.rs && touch src/lib.rs tests/api/main.rs \
    && echo 'openapi: 3.0.3' > openapi.yaml \
    && cargo build --release --locked --bin sandbox-broker \
    && rm -rf src openapi.yaml target/release/.fingerprint/sandbox-broker-*
COPY src ./src
COPY openapi.yaml ./
RUN cargo build --release --locked --bin sandbox-broker

# The local stack's console federation stand-in (docker compose only):
# the shared fake of examples/support, built from the same sources.
FROM builder AS fake-upstream-builder
COPY examples ./examples
RUN cargo build --release --locked --example fake_upstream

FROM debian:bookworm-slim AS fake-upstream
COPY --from=fake-upstream-builder /src/target/release/examples/fake_upstream /usr/local/bin/fake_upstream
ENV FAKE_UPSTREAM_HOST=0.0.0.0
USER 10001
ENTRYPOINT ["fake_upstream"]

# The broker: the default (last) stage.
FROM debian:bookworm-slim
# ca-certificates for HTTPS to AWS; curl for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin sandbox
COPY --from=builder /src/target/release/sandbox-broker /usr/local/bin/sandbox-broker
COPY config/default.toml /etc/sandbox-broker/config.toml
COPY config/policies /etc/sandbox-broker/policies
ENV SANDBOX_BROKER_CONFIG=/etc/sandbox-broker/config.toml
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["sandbox-broker"]
CMD ["serve"]
