/** The mediasoup SFU driver (C++ workers, one per core; mediasoup is imported only when it is created). */
export { createMediasoupSfu, defaultMediasoupOptions, MediasoupSfu, type MediasoupOptions } from './mediasoup-sfu.ts';
export { defaultWorkerBin, mediasoupAvailable } from './worker-bin.ts';
