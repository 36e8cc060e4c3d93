# One image for every Mercado deployable (the gateway and each subgraph), started by name:
#
#   docker build -t mercado:1.4.0 .
#   docker run mercado:1.4.0 orders            # serve (the default command)
#   docker run mercado:1.4.0 orders migrate    # apply orders' migrations to DATABASE_URL, exit
#
# One image rather than one per service: the seven deployables share almost every run-time file
# (Apollo, Prisma's client, pg, amqplib, BullMQ, OpenTelemetry), so seven images would hold seven
# copies of the same ~35 MB, be built seven times, and could drift apart in their base image. Each
# Kubernetes Deployment still names its own image tag, so a service is rolled out and rolled back
# on its own (docs/deployment.md).
#
# Build stage: everything needed to compile. Runtime stage: Node, the compiled bundles and only
# the files they read at run time (traced by packages/build/src/stage.ts; `npm run image:size`
# prints its size), owned by root and run as an unprivileged user.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV APOLLO_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1
# The workspaces' sources (npm ci needs every workspace's package.json; the build needs the rest).
COPY package.json package-lock.json turbo.json tsconfig.json ./
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY prisma ./prisma
# scripts/: docker-compose's development `setup` (create, migrate, seed) runs in this stage.
COPY scripts ./scripts
COPY deploy ./deploy
COPY e2e/package.json ./e2e/package.json
COPY bench/package.json ./bench/package.json
RUN npm ci --no-audit --no-fund
# Prisma clients, the supergraph, then every deployable bundled for this Node (esbuild targets the
# Node that builds, which is the Node that runs), and the runtime stage's files into /stage.
RUN npx turbo run build --filter=@mercado/gateway --filter='./subgraphs/*' \
 && node --import tsx packages/build/src/stage.ts /stage

FROM ${NODE_IMAGE} AS runtime
# Production unless told otherwise (docker-compose.yml says development).
ENV NODE_ENV=production HOST=0.0.0.0 APOLLO_TELEMETRY_DISABLED=1
WORKDIR /app
# Read-only to the process (owned by root), so a read-only root file system changes nothing.
COPY --from=build /stage/ /app/
# The image's `node` user, by number: Kubernetes' runAsNonRoot can only check a numeric user.
USER 1000:1000
EXPOSE 4000-4006 9400-9406
# /ready on the public port (every deployable serves it there): healthy once its database, broker
# and Redis are usable (a subgraph) or every subgraph answers (the gateway). Kubernetes ignores
# this and uses the probes in deploy/; docker-compose relies on it.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# exec's node as PID 1 with the deployable's flags (packages/system/src/runtime.ts), so SIGTERM
# reaches the process that drains.
ENTRYPOINT ["/app/bin/mercado"]
CMD ["gateway"]
