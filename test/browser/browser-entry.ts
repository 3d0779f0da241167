/**
 * What the browser test loads into a page: the very client Node uses (web/client/), bundled by
 * esbuild. The page drives it with the browser's own WebSocket and RTCPeerConnection.
 */
import { Viewer } from '../../web/client/Viewer.js';

declare global {
  // eslint-disable-next-line no-var
  var OnAirTest: { Viewer: typeof Viewer };
}

globalThis.OnAirTest = { Viewer };
