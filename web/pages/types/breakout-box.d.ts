/**
 * MediaStreamTrackProcessor (Chromium's "breakout box": a camera or microphone track as a stream of
 * VideoFrame / AudioData), which TypeScript's DOM library does not declare yet.
 */
interface MediaStreamTrackProcessorInit {
  track: MediaStreamTrack;
  maxBufferSize?: number;
}

declare class MediaStreamTrackProcessor<T extends VideoFrame | AudioData = VideoFrame | AudioData> {
  constructor(init: MediaStreamTrackProcessorInit);
  readonly readable: ReadableStream<T>;
}
