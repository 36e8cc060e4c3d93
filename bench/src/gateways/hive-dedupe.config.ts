/**
 * Hive Gateway as the public gateways benchmark configures it (its gateways/hive-gateway/
 * gateway.config.ts): JIT-compiled operations plus de-duplication of identical in-flight
 * inbound requests. With every connection sending the same query this mostly measures the
 * de-duplication, which is why the bench reports it beside the headline, not in it.
 */
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  inboundInflightRequestDeduplication: true,
  jit: true,
});
