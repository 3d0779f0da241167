/**
 * Can this browser broadcast? Camera access and WebCodecs exist only in a secure context (https, or
 * http://localhost / 127.0.0.1), and MediaStreamTrackProcessor only in Chromium-based browsers.
 * Returns a message for people, or null when everything needed is there.
 */
export function broadcastUnsupported(): string | null {
  if (!window.isSecureContext) {
    return `Broadcasting needs a secure page: open this site over https, or as http://localhost. (${location.origin} is not secure, so the browser hides the camera and the video encoder.)`;
  }
  if (!navigator.mediaDevices?.getUserMedia) return 'This browser gives pages no access to the camera.';
  const missing = [
    ['VideoEncoder', typeof VideoEncoder],
    ['AudioEncoder', typeof AudioEncoder],
    ['MediaStreamTrackProcessor', typeof MediaStreamTrackProcessor],
  ]
    .filter(([, type]) => type === 'undefined')
    .map(([name]) => name);
  if (missing.length > 0) return `This browser cannot encode video in a page (no ${missing.join(', ')}). Use a recent Chrome, Edge or another Chromium-based browser.`;
  return null;
}
