// Usage: node dual-encoder.mjs <request.json> → JSON on stdout.
// request: { folder, family: "clip"|"siglip", images: [path], texts: [string], labels: [string], template }
// Returns what the service must match: pixel tensors, text and image embeddings, zero-shot scores.
import fs from 'node:fs';
import {
    AutoProcessor, AutoTokenizer, RawImage, pipeline,
    CLIPTextModelWithProjection, CLIPVisionModelWithProjection, SiglipTextModel, SiglipVisionModel,
} from '@huggingface/transformers';
import { locate } from './common.mjs';

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const id = locate(request.folder);
const isClip = request.family === 'clip';
const processor = await AutoProcessor.from_pretrained(id);
const tokenizer = await AutoTokenizer.from_pretrained(id);
const TextModel = isClip ? CLIPTextModelWithProjection : SiglipTextModel;
const VisionModel = isClip ? CLIPVisionModelWithProjection : SiglipVisionModel;
const textModel = await TextModel.from_pretrained(id, { dtype: 'fp32' });
const visionModel = await VisionModel.from_pretrained(id, { dtype: 'fp32' });
const classifier = await pipeline('zero-shot-image-classification', id, { dtype: 'fp32' });

const out = { images: [], texts: [] };
for (const imagePath of request.images ?? []) {
    const entry = { path: imagePath };
    try {
        const image = await RawImage.read(imagePath);
        const { pixel_values } = await processor(image);
        entry.pixel_dims = pixel_values.dims;
        entry.pixel_values = Array.from(pixel_values.data);
        const vision = await visionModel({ pixel_values });
        entry.embedding = Array.from((isClip ? vision.image_embeds : vision.pooler_output).data);
        if (request.labels?.length) {
            const result = await classifier(imagePath, request.labels, { hypothesis_template: request.template });
            entry.predictions = result;
        }
    } catch (error) {
        entry.error = String(error?.message ?? error);
    }
    out.images.push(entry);
}
for (const text of request.texts ?? []) {
    const inputs = tokenizer([text], isClip ? { padding: true, truncation: true } : { padding: 'max_length', truncation: true });
    const result = await textModel(inputs);
    out.texts.push({ text, ids: Array.from(inputs.input_ids.data, Number), embedding: Array.from((isClip ? result.text_embeds : result.pooler_output).data) });
}
process.stdout.write(JSON.stringify(out));
