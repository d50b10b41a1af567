# syntax=docker/dockerfile:1
# The operator (/goalert-provisioning) and gctl (/gctl) as static executables on distroless's
# static, non-root base: no shell, no libc, user 65532.
#
#   docker build -t goalert-provisioning .
#   docker run --rm goalert-provisioning print-api-key-query
#
# CI has no Docker engine. e2e/tests/e2e_chart/image.rs (static_binaries_match_the_dockerfile)
# builds the same binaries with the same cargo command and flags as below, checks that they are
# static and run in an otherwise empty root file system as user 65532, and checks the paths this
# file uses.

ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# glibc linked statically (the musl target would need a download rustup cannot make in CI).
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(uname -m)-unknown-linux-gnu" \
 && cargo build --release --locked --target "$target" --bin goalert-provisioning --bin gctl \
 && mkdir /out \
 && cp "target/$target/release/goalert-provisioning" "target/$target/release/gctl" /out/

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/goalert-provisioning /goalert-provisioning
COPY --from=build /out/gctl /gctl
USER 65532:65532
EXPOSE 8080 9443
ENTRYPOINT ["/goalert-provisioning"]
CMD ["run"]
