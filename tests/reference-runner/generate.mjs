// Usage: node generate.mjs <request.json> → JSON on stdout.
// request: { folder, family: "smolvlm"|"llava", cases: [{ image, question, max_new_tokens, do_image_splitting?, pixel_stride? }] }
// For each case: the prompt ids, the new token ids (greedy) and their text, as transformers.js produces them; with
// pixel_stride, also every pixel_stride-th value of pixel_values (the whole tensor is tens of MB as JSON).
import fs from 'node:fs';
import { AutoProcessor, AutoModelForImageTextToText, RawImage } from '@huggingface/transformers';
import { locate } from './common.mjs';

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const id = locate(request.folder);
const processor = await AutoProcessor.from_pretrained(id);
const model = await AutoModelForImageTextToText.from_pretrained(id, { dtype: 'fp32' });

const results = [];
for (const c of request.cases) {
    try {
        const image = await RawImage.read(c.image);
        const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: c.question }] }];
        const prompt = processor.apply_chat_template(messages, { add_generation_prompt: true });
        const options = c.do_image_splitting === undefined ? {} : { do_image_splitting: c.do_image_splitting };
        const inputs = request.family === 'llava' ? await processor(image, prompt, options) : await processor(prompt, [image], options);
        const output = await model.generate({ ...inputs, max_new_tokens: c.max_new_tokens, do_sample: false, min_new_tokens: c.min_new_tokens });
        const promptLength = inputs.input_ids.dims.at(-1);
        const all = Array.from(output.data, Number);
        const newIds = all.slice(promptLength);
        results.push({
            prompt,
            prompt_ids: Array.from(inputs.input_ids.data, Number),
            pixel_dims: inputs.pixel_values.dims,
            pixel_sample: c.pixel_stride ? Array.from(inputs.pixel_values.data).filter((_, i) => i % c.pixel_stride === 0) : undefined,
            new_ids: newIds,
            text: processor.batch_decode(output.slice(null, [promptLength, null]), { skip_special_tokens: true })[0],
        });
    } catch (error) {
        results.push({ error: String(error?.message ?? error) });
    }
}
process.stdout.write(JSON.stringify(results));
