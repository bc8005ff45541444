# syntax=docker/dockerfile:1
# The metric-compactor HTTP service. Node 24, the version package.json pins (engines and the `node`
# dependency); the sources are TypeScript run by Node's type stripping, so there is no build step
# beyond installing the production dependencies. src/compile-cache.js keeps the stripped sources in
# NODE_COMPILE_CACHE, so that compaction children and writer threads do not each load the stripper.

# Stage 1: production dependencies. zstd-napi compiles with node-gyp, so this stage has a toolchain.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Stage 2: the runtime image: no toolchain, no dev dependencies, not root.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    STORAGE_ROOT=/data \
    TEMP_DIR=/tmp \
    NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json openapi.yaml ./
COPY bin ./bin
COPY src ./src
COPY routes ./routes
RUN mkdir -p /data /app/.compile-cache && chown node:node /data /app/.compile-cache
# the node image's unprivileged user (uid 1000)
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: in-flight compactions finish within SHUTDOWN_TIMEOUT_MS, then exit 0
STOPSIGNAL SIGTERM
CMD ["node", "--import", "./src/compile-cache.js", "src/main.ts"]
