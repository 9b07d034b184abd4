# syntax=docker/dockerfile:1
# Antenna for Node: build stage compiles TypeScript; the runtime stage has
# production dependencies and dist/ only, runs as a non-root user, and lets
# tini forward signals so SIGTERM drains the workers (GRACEFUL_TIMEOUT).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    APP_BASEDIR=/app \
    CRASHMOVER_CRASHSTORAGE_FS_ROOT=/data/crashes \
    CRASHMOVER_SPOOL_DIR=/data/spool \
    METADATA_SERVER_DETECTION=none
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# version.json (source, version, commit, build) is written by CI; optional.
COPY version.jso[n] ./
# Storage and the spool (acknowledged crashes waiting for gcs/s3) both live on
# the volume, owned by the runtime user: the spool must outlive the container.
RUN mkdir -p /data/crashes /data/spool && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
# Docker stops with SIGTERM and waits --stop-timeout (give it GRACEFUL_TIMEOUT + 5 s).
STOPSIGNAL SIGTERM
# Probes /__lbheartbeat__ on PORT, over HTTPS when TLS_CERT_FILE is set.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "dist/tools/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
