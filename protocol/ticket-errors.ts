/**
 * Why a ticket was refused, declared once. A streaming unit that refuses a ticket closes the
 * connection with the code's `closeCode` and its `message` as the close reason (every message fits
 * the 123-byte limit of a WebSocket close reason); the browser client reads the same table to decide
 * whether asking the web server for a fresh ticket can help.
 *
 * The close codes occupy the block 4400–4408 of the private range (4000–4999); 44xx echoes HTTP's
 * 4xx "the client's credentials are at fault", and 4401 keeps 401's "get a new one" meaning.
 */
import { CodedError } from './control-errors.js';

export interface TicketErrorSpec {
  /** WebSocket close code in the private range 4000–4999 */
  readonly closeCode: number;
  /** short, human, safe to show to the client */
  readonly message: string;
}

export const TICKET_ERRORS = {
  TICKET_MALFORMED: { closeCode: 4400, message: 'the ticket is not a well-formed JWT' },
  TICKET_EXPIRED: { closeCode: 4401, message: 'the ticket has expired' },
  TICKET_NOT_YET_VALID: { closeCode: 4402, message: 'the ticket is not valid yet' },
  TICKET_BAD_SIGNATURE: { closeCode: 4403, message: 'the ticket signature does not verify' },
  TICKET_ALG_NOT_ALLOWED: { closeCode: 4404, message: 'the ticket is not signed with EdDSA' },
  TICKET_BAD_CLAIMS: { closeCode: 4405, message: 'the ticket claims (issuer, audience or shape) are invalid' },
  TICKET_WRONG_ROLE: { closeCode: 4406, message: 'the ticket grants another role' },
  TICKET_WRONG_CHANNEL: { closeCode: 4407, message: 'the ticket is for another channel' },
  TICKET_WRONG_UNIT: { closeCode: 4408, message: 'the ticket is for another streaming unit' },
} as const satisfies Record<string, TicketErrorSpec>;

export type TicketErrorCode = keyof typeof TICKET_ERRORS;

/**
 * A refused ticket. `message` carries a detail for logs; send `TICKET_ERRORS[code].message` to the
 * client instead, which is short and says nothing about the key or the verifier's internals.
 */
export class TicketError extends CodedError {
  declare readonly code: TicketErrorCode;
  readonly closeCode: number;

  constructor(code: TicketErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec = TICKET_ERRORS[code];
    super(code, detail ? `${spec.message}: ${detail}` : spec.message);
    this.name = 'TicketError';
    this.closeCode = spec.closeCode;
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
