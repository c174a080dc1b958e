# syntax=docker/dockerfile:1
# specstub serving the bundled specs and fixtures on 0.0.0.0:4010:
#   docker build -t specstub .
#   docker run --rm -p 4010:4010 specstub
#   docker run --rm -p 4010:4010 -v "$PWD/api:/api:ro" specstub serve --host 0.0.0.0 /api

# The builder matches the runtime's Debian release (bookworm): a binary linked against a newer
# glibc than the runtime's does not start.
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src/ src/
# The shipped profile (fat LTO) and allocator. The cache mounts keep the registry and compiled
# dependencies between builds, so a source change does not rebuild all ~200 crates; the binary
# is copied out because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --profile dist --features mimalloc \
    && cp target/dist/specstub /usr/local/bin/specstub

FROM debian:bookworm-slim
# A fixed unprivileged user, so mounted specs and state files can be given to a known uid.
RUN useradd --system --uid 10001 --user-group --home-dir /srv/specstub --no-create-home specstub
COPY --from=builder /usr/local/bin/specstub /usr/local/bin/specstub
WORKDIR /srv/specstub
COPY specs/ specs/
COPY fixtures/ fixtures/
# By uid: a runtime can then check it is not root without reading /etc/passwd.
USER 10001:10001
EXPOSE 4010
# The binary checks itself (`specstub health` is one GET over a plain socket), so the image needs
# no curl: no package layer, nothing but specstub to keep patched. It calls the default admin
# route; a container started with another --port or --admin-prefix should override it
# (`docker run --health-cmd 'specstub health http://127.0.0.1:PORT/PREFIX/health'`).
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["specstub", "health", "http://127.0.0.1:4010/__specstub/health"]
ENTRYPOINT ["specstub"]
# `serve` with no documents serves ./specs with ./fixtures, i.e. the bundled APIs.
CMD ["serve", "--host", "0.0.0.0", "--port", "4010"]
