/**
 * The worker of the watch page's standard RTP tap (ScriptRtpTap.ts), bundled on its own as
 * `rtp-tap-worker.js` beside the pages (bin/build-pages.ts). The browser runs an RTCRtpScriptTransform's
 * frames through a worker, never the page: here each encoded frame's `data` ([0x01, chunk…],
 * protocol/chunk-rtp.ts) is posted back to the page, its ArrayBuffer transferred rather than copied,
 * and the page's UdpLink takes the chunk out as on the legacy tap.
 *
 * Nothing is written to the transformer's `writable`: the frames are chunks, not video, and must
 * never reach the browser's decoder. A frame not written is a frame dropped there.
 *
 * Type-checked with the pages' DOM typings (one program for every page), which have no worker scope:
 * the little of it used here is declared below and `self` cast to it.
 */

/** what the worker posts to the page */
export type RtpTapWorkerMessage =
  | { t: 'frame'; data: ArrayBuffer }
  /** the receiver's frames ended (the track or the peer connection closed) */
  | { t: 'end' }
  | { t: 'error'; message: string };

interface EncodedFrame {
  readonly data: ArrayBuffer;
}

interface RtcTransformEvent {
  readonly transformer: { readonly readable: ReadableStream<EncodedFrame> };
}

interface TapWorkerScope {
  onrtctransform: ((event: RtcTransformEvent) => void) | null;
  postMessage(message: RtpTapWorkerMessage, transfer?: Transferable[]): void;
}

const scope = self as unknown as TapWorkerScope;

// One event per RTCRtpScriptTransform made with this worker: the page makes one per receiver.
scope.onrtctransform = (event) => void forward(event.transformer.readable.getReader());

async function forward(reader: ReadableStreamDefaultReader<EncodedFrame>): Promise<void> {
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return scope.postMessage({ t: 'end' });
      const { data } = next.value;
      scope.postMessage({ t: 'frame', data }, [data]);
    }
  } catch (error) {
    scope.postMessage({ t: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}
