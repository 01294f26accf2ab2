# webhook-bridge operator image: a static (musl) release binary on distroless/static, non-root,
# no shell. Build:  docker build -t webhook-bridge:0.1.0 .
FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && cargo build --locked --profile dist --target x86_64-unknown-linux-musl --bin webhook-bridge \
 && rm -rf src
COPY src src
COPY examples examples
RUN touch src/main.rs src/lib.rs \
 && cargo build --locked --profile dist --target x86_64-unknown-linux-musl --bin webhook-bridge \
 && cp target/x86_64-unknown-linux-musl/dist/webhook-bridge /webhook-bridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /webhook-bridge /usr/local/bin/webhook-bridge
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/webhook-bridge"]
CMD ["run"]
