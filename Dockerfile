# One image for every Mercado process; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
ENV APOLLO_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 HOST=0.0.0.0
COPY package.json package-lock.json ./
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY prisma ./prisma
COPY scripts ./scripts
COPY e2e/package.json ./e2e/package.json
COPY bench/package.json ./bench/package.json
COPY turbo.json tsconfig.json ./
# Every deployable runs as compiled JavaScript (gateway/dist, subgraphs/<name>/dist).
RUN npm ci --no-audit --no-fund && npx turbo run build
