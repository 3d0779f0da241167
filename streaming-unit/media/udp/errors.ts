/**
 * Errors of the unit's UDP mode (UDP_ERR_*), declared once. The signalling ones are a viewer's fault:
 * the viewer is closed with MEDIA_BAD_MESSAGE and the code as the close reason, and nothing else is
 * touched. UDP_ERR_BAD_OPTIONS is a configuration error at start.
 */
import { catalogueError } from '../../../protocol/control-errors.js';

export const UDP_ERRORS = {
  UDP_ERR_NO_SESSION: 'udp-answer or udp-candidate from a viewer that never sent udp-start',
  UDP_ERR_BAD_ANSWER: 'the SDP answer was refused',
  UDP_ERR_ANSWER_TWICE: 'a second udp-answer for the same data channel',
  UDP_ERR_CANDIDATE_BEFORE_ANSWER: 'an ICE candidate arrived before the SDP answer',
  UDP_ERR_BAD_CANDIDATE: 'the ICE candidate was refused',
  UDP_ERR_BAD_OPTIONS: 'the UDP mode options are invalid',
} as const;

export type UdpErrorCode = keyof typeof UDP_ERRORS;

export class UdpError extends catalogueError<UdpErrorCode>('UdpError', UDP_ERRORS) {}
