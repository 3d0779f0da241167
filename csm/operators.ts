/** Operators come from configuration as "user:scryptHash" entries (protocol/password-hash.ts, shared with the admin console). */
export { parseOperators } from '../protocol/password-hash.js';
