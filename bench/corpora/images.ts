// Seeded PNG images (gradients with noise, like scans and photos compress) for the corpora, built
// with zlib: no image library needed.
import { crc32, deflateSync } from "node:zlib";
import type { Random } from "./text.ts";

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** An RGB PNG of `width`×`height`: a two-colour gradient with `noise` (0-255) of random speckle. */
export function pngImage(random: Random, width: number, height: number, noise = 24): Uint8Array {
  const a = [random() * 255, random() * 255, random() * 255];
  const b = [random() * 255, random() * 255, random() * 255];
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let o = 0;
  for (let y = 0; y < height; y++) {
    raw[o++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      for (let c = 0; c < 3; c++) {
        const v = a[c]! * (1 - t) + b[c]! * t + (random() - 0.5) * noise;
        raw[o++] = Math.max(0, Math.min(255, v));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array()),
  ]);
}
