# syntax=docker/dockerfile:1
# dpop-oidc container image. Build: docker build -t dpop-oidc .   Usage: docs/docker.md

# ---- build: all dependencies, compile TypeScript to dist/ ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies, compiled code, default config ----
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/var/lib/dpop-oidc CONFIG_FILE=/app/config/default.json
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# Generated signing keys and the nonce secret live here; owned by the unprivileged `node` user.
RUN mkdir -p /var/lib/dpop-oidc \
 && chown node:node /var/lib/dpop-oidc \
 && chmod 700 /var/lib/dpop-oidc
USER node
EXPOSE 8080
VOLUME ["/var/lib/dpop-oidc"]
# Slim images have no curl: ask node itself. Follows PORT if it is overridden at run time.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node runs as PID 1 and handles SIGTERM/SIGINT itself (src/main.ts): no shell, no npm wrapper.
# The node options are npm start's (package.json): a young generation sized for request traffic
# spends less CPU in garbage collection (docs/performance.md).
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
