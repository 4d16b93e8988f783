# psirt-inbox service image. Build: docker build -t psirt-inbox .
# Run:   docker run -v psirt-data:/data -e PSIRT_CONFIG=/config/psirt.toml -v ./psirt.toml:/config/psirt.toml:ro \
#          -e PSIRT_IMAP__PASSWORD_FILE=/run/secrets/imap ... psirt-inbox
#   or:  docker run … psirt-inbox --config /config/psirt.toml start   (the HEALTHCHECK follows either)

# ---- build: compile the native SQLite addon and the TypeScript ----
FROM node:20.20.2-bookworm-slim AS build
# better-sqlite3 12 falls back to compiling from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: no compilers, non-root, tini as PID 1 so SIGTERM reaches node ----
FROM node:20.20.2-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# PSIRT_RUN_DIR: `start` records there which --config file it was given, so the HEALTHCHECK (a
# separate process that never sees the container's arguments) checks the same configuration.
ENV NODE_ENV=production \
    PSIRT_ENV=docker \
    PSIRT_RUN_DIR=/tmp/psirt-run
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY migrations ./migrations
RUN mkdir -p /data \
 && chown node:node /data
USER node
# The SQLite file is the only source of truth: keep it on a volume and back it up.
VOLUME ["/data"]
# config/docker.toml puts the database on the volume; a --config file (`docker run … psirt-inbox
# --config /config/psirt.toml start`) or PSIRT_CONFIG can still override it, and the health check
# reads the same one (PSIRT_RUN_DIR above).
# Healthy = the database opens at the current schema and every role beat within a minute.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "/app/dist/workers/cli.js", "doctor", "--quick"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/workers/cli.js"]
CMD ["start"]
