/**
 * The browser's mediasoup-client Device. mediasoup-client (with its WebRTC handlers) is loaded by a
 * dynamic import the first time a mediasoup offer arrives, so it is a separate chunk and the page that
 * listens through the werift driver never downloads it.
 */
import type { MediasoupDevice } from './session.ts';

export async function createBrowserDevice(): Promise<MediasoupDevice> {
  const { Device } = await import('mediasoup-client');
  // handlerName left out: mediasoup-client picks the handler for this browser, or throws UnsupportedError.
  return new Device();
}
