// Preprocessing throughput of the peer: JPEG bytes → CLIP pixel_values with transformers.js (sharp decode + its
// image processor), `--concurrency` requests in flight for `--seconds`.
//   node preprocess.mjs --clip /models/clip-base --image photo-1080p.jpg --seconds 20 --concurrency 4
import fs from 'node:fs';
import path from 'node:path';
import { env, AutoProcessor, RawImage } from '@huggingface/transformers';

env.allowRemoteModels = false;
env.allowLocalModels = true;
const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, value, i, all) => (i % 2 === 0 ? [...pairs, [value.replace(/^--/, ''), all[i + 1]]] : pairs), []));
const absolute = path.resolve(args.clip);
env.localModelPath = path.dirname(absolute) + path.sep;
const processor = await AutoProcessor.from_pretrained(path.basename(absolute));
const bytes = fs.readFileSync(args.image);
const once = async () => processor(await RawImage.fromBlob(new Blob([bytes])));
for (let i = 0; i < 5; i++) await once();
const seconds = Number(args.seconds ?? 20);
const end = performance.now() + (seconds * 1000);
let done = 0;
const started = performance.now();
await Promise.all(Array.from({ length: Number(args.concurrency ?? 4) }, async () => {
    while (performance.now() < end) {
        await once();
        done++;
    }
}));
const elapsed = (performance.now() - started) / 1000;
console.log(`peer preprocess images=${done} seconds=${elapsed.toFixed(1)} images/s=${(done / elapsed).toFixed(2)}`);
