# The harness and the reference server in a container, with no checkout needed at run time:
# the suites, the catalogue, the schemas and the example profiles are built into the binary.
#
#   docker build -t uma-conformance .                    # harness + reference server (Debian slim)
#   docker build -t uma-conformance:browser --target browser .   # + Chromium for `claims: { driver: browser }`
#   docker run --rm uma-conformance --version            # names the hash of the built-in suites
#   docker run --rm -v "$PWD/reports:/work/reports" uma-conformance run          # the embedded reference
#   docker run --rm --network host -v "$PWD:/work" -e UMA_RS_SECRET uma-conformance run --target my-as.yaml
#
# Reports go to /work/reports/latest (mount /work, or pass --out). README.md, "Deployments".

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin uma-conformance -p uma-conformance \
 && cargo build --release --locked --bin uma-reference-server -p uma-reference-server

FROM debian:bookworm-slim AS runtime
# ca-certificates: the system roots, for targets with publicly trusted certificates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 uma \
 && mkdir -p /work && chown uma /work
COPY --from=build /src/target/release/uma-conformance /src/target/release/uma-reference-server /usr/local/bin/
USER uma
WORKDIR /work
ENTRYPOINT ["uma-conformance"]
CMD ["--help"]

# With Debian's Chromium and chromedriver, for the browser claims-gathering driver.
FROM runtime AS browser
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium chromium-driver \
 && rm -rf /var/lib/apt/lists/*
USER uma

# The default target: the image without a browser.
FROM runtime
