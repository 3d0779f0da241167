/** Sizes and bounds of the unit's media sockets, in one place (MediaPlane, relay links, admission). */
import { MAX_FRAME_BYTES } from '../../protocol/media-frame.js';
import { MAX_TEXT_MESSAGE_BYTES } from '../../protocol/media-messages.js';

/** uWS's CompressOptions.DISABLED: frames are compressed media already */
export const NO_COMPRESSION = 0;
/** a frame up to the protocol's maximum gets a clear FRAME_ERR_TOO_LARGE rather than uWS's own drop */
export const INGEST_MAX_PAYLOAD = MAX_FRAME_BYTES + 1024;
/** viewers send only text messages (chat, signalling, reports); relay children the same */
export const WATCH_MAX_PAYLOAD = MAX_TEXT_MESSAGE_BYTES;
/** a viewer is fed while its socket buffers less than this; the ring buffers the rest, bounded */
export const VIEWER_SEND_BOUND = 512 * 1024;
/** hard cap above the bound (one frame may cross it); a send beyond it means the viewer is stuck */
export const VIEWER_MAX_BACKPRESSURE = 16 * 1024 * 1024;
export const IDLE_TIMEOUT_SECONDS = 60;
/** what a client may send before its ticket is verified (well under a millisecond, normally): two largest frames */
export const PENDING_BEFORE_ADMISSION_BYTES = 2 * INGEST_MAX_PAYLOAD;
/** a viewer's keyframe request reaches the publisher at most this often per channel */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500;
