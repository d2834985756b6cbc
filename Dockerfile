# October's container images: one Debian 12 build stage, two distroless-style runtime targets.
#
#   docker build -t october-api:dev    --target api    .
#   docker build -t october-worker:dev --target worker .
#
# Build args: VERSION, REVISION, CREATED (RFC 3339) and SOURCE (repository URL) fill the OCI
# labels; VERSION (when given) and REVISION are also what /version and october_build_info
# report (the context has no .git: -DOCTOBER_REVISION stands in for it). DEBIAN_IMAGE names the
# build stage's base. docker/build-images.sh passes them all (README, "Container images").
ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim

# ---- build: the project's own bootstrap and CMake release preset --------------------------------
FROM ${DEBIAN_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# Alone in its layer, so only a change to the package list re-runs it; --build-only leaves out the
# test, lint, benchmark and image tooling.
COPY scripts/bootstrap.sh scripts/bootstrap.sh
RUN bash scripts/bootstrap.sh --build-only \
 && rm -rf /var/lib/apt/lists/*
COPY docker/healthcheck.cpp docker/
RUN mkdir -p /out \
 && g++ -std=c++20 -O2 -Wall -Wextra -Werror -o /out/october-healthcheck docker/healthcheck.cpp
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake/ cmake/
COPY src/ src/
ARG REVISION=unknown
ARG VERSION
RUN cmake --preset release -DOCTOBER_BUILD_TESTS=OFF -DOCTOBER_REVISION="${REVISION}" \
      ${VERSION:+-DOCTOBER_VERSION="${VERSION}"} \
 && cmake --build --preset release \
 && install -m 0755 build/release/bin/october-api build/release/bin/october-worker /out/ \
 && strip --strip-unneeded /out/october-*
COPY docker/stage-runtime.sh docker/
RUN bash docker/stage-runtime.sh /rootfs /out/october-api /out/october-worker /out/october-healthcheck

# ---- runtime: glibc, libstdc++, the libraries ldd lists, CA certificates; no shell -------------
# What both images share: the root filesystem, the health probe, the user and the common labels.
FROM scratch AS runtime
COPY --from=build /rootfs/ /
COPY --from=build /out/october-healthcheck /usr/local/bin/october-healthcheck
USER 65532:65532
WORKDIR /home/nonroot
# The probe reads the same HOST and PORT as the service it checks.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/october-healthcheck", "/healthz"]
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}"

# ---- october-worker ----------------------------------------------------------------------------
FROM runtime AS worker
COPY --from=build /out/october-worker /usr/local/bin/october-worker
ENV PORT=8001
EXPOSE 8001
ENTRYPOINT ["/usr/local/bin/october-worker"]
LABEL org.opencontainers.image.title="october-worker" \
      org.opencontainers.image.description="October background-task worker, Celery protocol 2 on Redis"

# ---- october-api (last, so a build without --target gives the api) -----------------------------
FROM runtime AS api
COPY --from=build /out/october-api /usr/local/bin/october-api
ENV PORT=8000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/october-api"]
LABEL org.opencontainers.image.title="october-api" \
      org.opencontainers.image.description="October HTTP API: probes, metrics, compute workloads, task submission"
