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
COPY turbo.json tsconfig.json ./
# The gateway runs as compiled JavaScript (gateway/dist); the subgraphs run their sources under tsx.
RUN npm ci --no-audit --no-fund && npx turbo run generate && npm run build -w @mercado/gateway
