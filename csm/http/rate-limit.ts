/** The CSM's default per-client-address request limit (protocol/http-rate-limit.ts does the limiting). */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
