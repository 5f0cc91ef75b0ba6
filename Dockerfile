# Images of the toolkit: one target per binary.
#
#   docker build --target rum-gateway -t perf-toolkit/rum-gateway:dev .
#
# Targets: rum-gateway, webrtc-probe, synthetic-journey (with Debian's Chromium), db-slowquery
# and demo-app, each running as the unprivileged user `toolkit` (uid 10001); and alertmanager,
# the official image with a time zone database added (it runs as `nobody`, as published).
# The base images are pinned; override them with --build-arg.

ARG RUST_IMAGE=rust:1.95.0-bookworm
ARG NODE_IMAGE=node:22.14.0-bookworm-slim
ARG DEBIAN_IMAGE=debian:12.11-slim
ARG ALERTMANAGER_IMAGE=prom/alertmanager:v0.28.1

# --- Alertmanager as published, plus the time zone database ----------------------------------
# The generated routing mutes tickets outside business hours in a named time zone
# (time_intervals' `location`), which Alertmanager looks up in /usr/share/zoneinfo; the
# official image has none. Debian's slim image carries tzdata. First in the file, so that even
# the classic builder, which builds every stage before the target, builds nothing else for it.
FROM ${DEBIAN_IMAGE} AS zoneinfo
FROM ${ALERTMANAGER_IMAGE} AS alertmanager
COPY --from=zoneinfo /usr/share/zoneinfo /usr/share/zoneinfo

# --- build: every binary in release mode -----------------------------------------------------
FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# --locked: the image is built from Cargo.lock as committed, never from newer crates.
RUN cargo build --release --locked \
        -p rum-gateway -p webrtc-probe -p synthetic-journey -p db-slowquery -p demo-app \
    && mkdir /out \
    && cp target/release/rum-gateway target/release/webrtc-probe \
          target/release/synthetic-journey target/release/db-slowquery \
          target/release/demo-app /out/

# --- the RUM snippet the demo application puts on its pages ----------------------------------
# web-vitals comes from npm at the version locked in exporters/rum-gateway/js; the snippet holds
# it, rum.js and the start call inline, so the pages need nothing else to send beacons.
FROM ${NODE_IMAGE} AS snippet
WORKDIR /js
COPY exporters/rum-gateway/js/package.json exporters/rum-gateway/js/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY exporters/rum-gateway/js/rum.js ./
COPY deploy/docker/rum-start.html ./
RUN { echo '<script>'; cat node_modules/web-vitals/dist/web-vitals.iife.js; echo '</script>'; \
      echo '<script>'; cat rum.js; echo '</script>'; cat rum-start.html; } > rum-snippet.html

# --- the base of every runtime image ---------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/toolkit toolkit
# The health checks use bash's /dev/tcp, so the images need no curl. They speak plain HTTP: an
# exporter started with TLS in its --web.config.file needs its own check (or none).
COPY deploy/docker/healthcheck /usr/local/bin/healthcheck
WORKDIR /home/toolkit

FROM runtime AS rum-gateway
COPY --from=build /out/rum-gateway /usr/local/bin/rum-gateway
USER toolkit
EXPOSE 9470
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["healthcheck", "9470"]
ENTRYPOINT ["/usr/local/bin/rum-gateway"]

FROM runtime AS webrtc-probe
COPY --from=build /out/webrtc-probe /usr/local/bin/webrtc-probe
USER toolkit
EXPOSE 9471
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["healthcheck", "9471"]
ENTRYPOINT ["/usr/local/bin/webrtc-probe"]

FROM runtime AS synthetic-journey
# Debian's Chromium, the browser the exporter is tested with; the fonts give pages real text
# metrics (layout shift and paint timings depend on them).
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o toolkit -g toolkit /var/lib/synthetic-journey
COPY --from=build /out/synthetic-journey /usr/local/bin/synthetic-journey
USER toolkit
ENV SYNTHETIC_JOURNEY_ARTIFACTS_DIR=/var/lib/synthetic-journey
VOLUME /var/lib/synthetic-journey
EXPOSE 9472
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["healthcheck", "9472"]
ENTRYPOINT ["/usr/local/bin/synthetic-journey"]

FROM runtime AS db-slowquery
COPY --from=build /out/db-slowquery /usr/local/bin/db-slowquery
USER toolkit
EXPOSE 9473
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["healthcheck", "9473"]
ENTRYPOINT ["/usr/local/bin/db-slowquery"]

FROM runtime AS demo-app
COPY --from=build /out/demo-app /usr/local/bin/demo-app
COPY --from=snippet /js/rum-snippet.html /usr/share/demo-app/rum-snippet.html
USER toolkit
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s CMD ["healthcheck", "8080", "/metrics"]
ENTRYPOINT ["/usr/local/bin/demo-app"]
CMD ["--web.listen-address=0.0.0.0:8080", "--rum.snippet-file=/usr/share/demo-app/rum-snippet.html"]
