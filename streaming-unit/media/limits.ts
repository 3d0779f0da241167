/** Sizes and bounds of the unit's media sockets, in one place (MediaPlane, relay links, admission). */
import { MAX_FRAME_BYTES } from '../../protocol/media-frame.js';
import { MAX_TEXT_MESSAGE_BYTES } from '../../protocol/media-messages.js';

/** uWS's CompressOptions.DISABLED: frames are compressed media already */
export const NO_COMPRESSION = 0;
/** a frame up to the protocol's maximum gets a clear FRAME_ERR_TOO_LARGE rather than uWS's own drop */
export const INGEST_MAX_PAYLOAD = MAX_FRAME_BYTES + 1024;
/** viewers send only text messages (chat, signalling, reports); relay children the same */
export const WATCH_MAX_PAYLOAD = MAX_TEXT_MESSAGE_BYTES;
/**
 * A viewer whose socket buffers more than about this much of the stream is congested (audio and
 * text only): a quarter second of the channel's bitrate, between the two bounds (the upper one until
 * the bitrate is known). Kept small because a slow viewer's audio arrives as late as its queue is long.
 */
export const CONGESTION_BUDGET_SECONDS = 0.25;
export const MIN_VIEWER_SEND_BOUND = 32 * 1024;
export const VIEWER_SEND_BOUND = 256 * 1024;
/** a caught-up viewer joins the channel's topic only while its socket buffers less than this */
export const LIVE_ENTER_BOUND = 64 * 1024;
/** how often live viewers are checked against VIEWER_SEND_BOUND (at 2 Mbit/s: ~12 KiB of stream) */
export const LIVE_SWEEP_INTERVAL_MS = 50;
/** hard cap above the bound (frames may cross it); a viewer that cannot take even the audio reaches it and is closed */
export const VIEWER_MAX_BACKPRESSURE = 4 * 1024 * 1024;
export const IDLE_TIMEOUT_SECONDS = 60;
/** what a client may send before its ticket is verified (well under a millisecond, normally): two largest frames */
export const PENDING_BEFORE_ADMISSION_BYTES = 2 * INGEST_MAX_PAYLOAD;
/** a viewer reporting more delay than this is behind (audio only) … */
export const BEHIND_ENTER_MS = 2000;
/** … until it reports less than this */
export const BEHIND_EXIT_MS = 500;
/**
 * A viewer that falls behind again within this long of catching up cannot sustain video: it stays
 * audio-only at least the hold time, doubled at each relapse between the two bounds.
 */
export const RELAPSE_WINDOW_MS = 30_000;
export const BEHIND_HOLD_MIN_MS = 5_000;
export const BEHIND_HOLD_MAX_MS = 120_000;
/**
 * A viewer whose link carried less than the channel's bitrate while it drained its backlog cannot
 * take the video at all: it stays audio-only at least this long before video is tried again,
 * doubled at each such verdict up to the maximum (every try refills the queues ahead of its audio).
 */
export const SLOW_LINK_HOLD_MIN_MS = 60_000;
export const SLOW_LINK_HOLD_MAX_MS = 300_000;
/**
 * What a viewer reports receiving while behind is what its link carries only while it drains older
 * data: when it receives at least this many times what the unit handed it in the spell. Otherwise it
 * receives all it is sent (its lateness is not the link's) and the link is not judged.
 */
export const DRAIN_EVIDENCE_RATIO = 1.25;
/** … measured over at least this much of the spell */
export const DRAIN_MEASURE_MIN_MS = 1000;
/** a unit whose event loop lagged more than this while a viewer drained gives no slow-link verdict */
export const UNIT_BUSY_LAG_MS = 100;
/** a viewer's keyframe request reaches the publisher at most this often per channel */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500;
