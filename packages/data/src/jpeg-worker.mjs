// Worker thread of JpegDecoderPool (jpeg-pool.ts): decodes JPEG bytes with jpeg-js, replies with RGB pixels.
// Plain JavaScript so that it runs under node, tsx and vitest alike.
import { parentPort } from 'node:worker_threads';
import jpeg from 'jpeg-js';

parentPort.on('message', (msg) => {
  const { id, bytes, tolerant } = msg;
  try {
    const img = jpeg.decode(new Uint8Array(bytes), { useTArray: true, formatAsRGBA: false, tolerantDecoding: tolerant, maxResolutionInMP: 200, maxMemoryUsageInMB: 2048 });
    if (!(img.width > 0 && img.height > 0)) throw new Error('no image data');
    parentPort.postMessage({ id, width: img.width, height: img.height, data: img.data }, [img.data.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
});
