# One image for the three apps: docker-compose.yml builds it once and picks the entry point per service.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc turbo.json tsconfig.base.json jest.shared.js eslint.config.mjs ./
COPY packages ./packages
COPY apps ./apps
# chDB (an optional dependency, ~540 MB) is needed to compile, not to run: the telemetry service in
# this image talks to a ClickHouse server (CLICKHOUSE_URL), and chDB is loaded only without one.
RUN npm ci && npx turbo run build && npm prune --omit=dev --omit=optional

FROM node:20-bookworm-slim
# tini as PID 1: it forwards SIGTERM to node and reaps orphaned grandchildren of replicas (node as
# PID 1 does neither for processes it did not spawn itself).
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production TZ=UTC
COPY --from=build /app /app
# A new named volume takes the owner of the directory it is mounted over: created here for the
# node user, /data is writable; otherwise it is root's and the runtime fails with EACCES.
RUN mkdir -p /data && chown node:node /data
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
