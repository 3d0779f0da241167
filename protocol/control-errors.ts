/**
 * Errors of the control link itself (framing, decoding, validation). Application errors carried in a
 * response use the owning process's catalogue (CSM_ERR_*, UNIT_ERR_*); these are the wire's own.
 */
export const ControlErrorCode = {
  CONTROL_ERR_FRAME_TOO_LARGE: 'CONTROL_ERR_FRAME_TOO_LARGE',
  CONTROL_ERR_UNDECODABLE: 'CONTROL_ERR_UNDECODABLE',
  CONTROL_ERR_BAD_ENVELOPE: 'CONTROL_ERR_BAD_ENVELOPE',
  CONTROL_ERR_UNKNOWN_METHOD: 'CONTROL_ERR_UNKNOWN_METHOD',
  CONTROL_ERR_UNKNOWN_NOTIFICATION: 'CONTROL_ERR_UNKNOWN_NOTIFICATION',
  CONTROL_ERR_BAD_PAYLOAD: 'CONTROL_ERR_BAD_PAYLOAD',
  CONTROL_ERR_UNKNOWN_RESPONSE: 'CONTROL_ERR_UNKNOWN_RESPONSE',
  CONTROL_ERR_CLOSED: 'CONTROL_ERR_CLOSED',
  CONTROL_ERR_TIMEOUT: 'CONTROL_ERR_TIMEOUT',
  CONTROL_ERR_NOT_REGISTERED: 'CONTROL_ERR_NOT_REGISTERED',
  CONTROL_ERR_HANDLER_FAILED: 'CONTROL_ERR_HANDLER_FAILED',
} as const;

export type ControlErrorCode = (typeof ControlErrorCode)[keyof typeof ControlErrorCode];

export const CONTROL_ERROR_MESSAGES: Record<ControlErrorCode, string> = {
  CONTROL_ERR_FRAME_TOO_LARGE: 'a control frame exceeded the size limit',
  CONTROL_ERR_UNDECODABLE: 'a control frame was not valid msgpack',
  CONTROL_ERR_BAD_ENVELOPE: 'a control message did not have the request/response/notification shape',
  CONTROL_ERR_UNKNOWN_METHOD: 'a request named a method this side does not serve',
  CONTROL_ERR_UNKNOWN_NOTIFICATION: 'a notification of an unknown kind',
  CONTROL_ERR_BAD_PAYLOAD: "a message's payload did not match its schema",
  CONTROL_ERR_UNKNOWN_RESPONSE: 'a response to no pending request',
  CONTROL_ERR_CLOSED: 'the control link closed before the request was answered',
  CONTROL_ERR_TIMEOUT: 'the peer did not answer in time',
  CONTROL_ERR_NOT_REGISTERED: 'the unit sent something before registering',
  CONTROL_ERR_HANDLER_FAILED: 'the peer failed while handling the request',
};

/** An error with a code from a catalogue; `remote` marks one that the peer sent back in a response. */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly remote = false,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}

/**
 * The error class of a catalogue of code → message: `new XError(code, detail?)` carries the code and
 * the catalogue's message (with the detail after it). One definition for every such catalogue.
 */
export function catalogueError<C extends string>(name: string, messages: Readonly<Record<C, string>>) {
  return class extends CodedError {
    declare readonly code: C;
    constructor(code: C, detail?: string) {
      super(code, detail ? `${messages[code]}: ${detail}` : messages[code]);
      this.name = name;
    }
  };
}

export class ControlError extends catalogueError<ControlErrorCode>('ControlError', CONTROL_ERROR_MESSAGES) {}
