# webhook-bridge operator image: the glibc release binary on a root filesystem made from three
# Debian bookworm packages (libc6, libgcc-s1, ca-certificates; scripts/image-rootfs.sh), FROM
# scratch: no shell, no package manager, user 65532.
#   docker build -t webhook-bridge:0.1.0 .
# scripts/image.sh builds the same image without Docker (buildah): it runs the same
# scripts/image-rootfs.sh on the host and builds this file's last stage, from `FROM scratch` on.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && cargo build --locked --release --bin webhook-bridge \
 && rm -rf src
COPY src src
COPY examples examples
RUN touch src/main.rs src/lib.rs \
 && cargo build --locked --release --bin webhook-bridge \
 && cp target/release/webhook-bridge /webhook-bridge

FROM debian:bookworm-slim AS rootfs
COPY scripts/image-rootfs.sh /image-rootfs.sh
COPY --from=build /webhook-bridge /webhook-bridge
RUN apt-get update && /image-rootfs.sh /rootfs /webhook-bridge

# scripts/image.sh builds from here on (with `--build-context rootfs=...`): keep it self-contained.
FROM scratch
ARG VERSION=dev
COPY --from=rootfs /rootfs /
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL org.opencontainers.image.title="webhook-bridge" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/webhook-bridge/webhook-bridge" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/webhook-bridge"]
CMD ["run"]
