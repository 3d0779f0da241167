/**
 * Errors of the media path's ring buffer (RING_ERR_*), declared once. They are programming or
 * configuration errors inside the unit, never a peer's fault: a peer's bad bytes are refused earlier
 * by protocol/media-frame.ts (FRAME_ERR_*).
 */
import { catalogueError } from '../../protocol/control-errors.js';

export const RING_ERRORS = {
  RING_ERR_BAD_OPTIONS: 'the ring buffer or reader options are invalid',
  RING_ERR_FRAME_TOO_LARGE: 'the frame is larger than a quarter of the ring buffer',
  RING_ERR_EMPTY_FRAME: 'the frame has no bytes',
  RING_ERR_CLOSED: 'the ring buffer is closed',
} as const;

export type RingErrorCode = keyof typeof RING_ERRORS;

export class RingError extends catalogueError<RingErrorCode>('RingError', RING_ERRORS) {}
