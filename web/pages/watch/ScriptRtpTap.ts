/**
 * The watch page's standard RTP tap (web/client/rtp-tap.ts): `receiver.transform = new
 * RTCRtpScriptTransform(worker)`, the encoded transform of the W3C spec, in Firefox, Safari and
 * Chromium alike. The browser hands the transform's frames to a worker only, so each receiver gets its
 * own worker (rtp-tap-worker.ts), which posts every frame's data back; here those messages become the
 * reader UdpLink takes. The worker ends with the reader: cancelled (the link closed), ended or failed.
 *
 * What Chromium 156 does, tried with two peer connections in one page (a VP8 track between them, the
 * receiver's inbound-rtp `framesDecoded` telling whether frames reached its decoder):
 * - with no `encodedInsertableStreams` in the configuration, the transform works when set
 *   synchronously inside `ontrack`. Set one task later (setTimeout 0), or 1.5 s later, it is ignored
 *   without an error: the worker gets its `rtctransform` event but no frame, and every frame goes on
 *   to the decoder — which, for chunk packets, would mean no chunk for the page and garbage for the
 *   decoder. Hence `open()` inside `ontrack` (UdpLink), never later;
 * - with `encodedInsertableStreams: true` the transform works too, even set 1.5 s late (the flag makes
 *   Chromium hold every frame for JavaScript from the start). It is not needed, then, and this tap
 *   leaves it off: it belongs to the deprecated legacy API, Chromium only, and the standard path is
 *   the one meant to outlive it.
 */
import type { RtcEncodedFrameLike, RtcReaderLike, RtcRtpReceiverLike } from '../../../web/client/rtc.js';
import { RtpTapError, type RtpTap } from '../../../web/client/rtp-tap.js';
import type { RtpTapWorkerMessage } from './rtp-tap-worker.js';

/**
 * Frames held for a reader that is behind (the page's thread busy); more are dropped, as a full
 * socket buffer drops datagrams: the client counts the frames lost and asks for a keyframe.
 */
const QUEUED_FRAMES_MAX = 1024;

export class ScriptRtpTap implements RtpTap {
  readonly configuration = {};
  readonly #workerUrl: URL;

  /** `workerUrl`: the rtp-tap-worker.js bundle, same origin as the page */
  constructor(workerUrl: URL) {
    this.#workerUrl = workerUrl;
  }

  open(receiver: RtcRtpReceiverLike): RtcReaderLike<RtcEncodedFrameLike> {
    const worker = new Worker(this.#workerUrl, { type: 'module', name: 'rtp-tap' });
    // Messages already queued may still be dispatched after terminate(): the handlers go first.
    const stop = (): void => {
      worker.onmessage = worker.onerror = worker.onmessageerror = null;
      worker.terminate();
    };
    const readable = new ReadableStream<RtcEncodedFrameLike>(
      {
        start: (controller) => {
          const fail = (detail: string): void => {
            stop();
            // The worker failed: its script did not load, or its reader threw.
            controller.error(new RtpTapError('WEB_ERR_CLIENT_RTP_TAP_FAILED', `worker: ${detail}`));
          };
          worker.onmessage = (event: MessageEvent<RtpTapWorkerMessage>) => {
            const message = event.data;
            if (message.t === 'frame') {
              if ((controller.desiredSize ?? 0) > 0) controller.enqueue({ data: message.data });
            } else if (message.t === 'end') {
              stop();
              controller.close();
            } else fail(message.message);
          };
          worker.onerror = (event) => fail(event.message || 'the worker failed');
          worker.onmessageerror = () => fail('a message could not be read');
        },
        cancel: stop,
      },
      { highWaterMark: QUEUED_FRAMES_MAX },
    );
    try {
      (receiver as RTCRtpReceiver).transform = new RTCRtpScriptTransform(worker);
    } catch (error) {
      stop();
      throw error;
    }
    return readable.getReader();
  }
}
