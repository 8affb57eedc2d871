// The peer a team would otherwise pick: transformers.js 4.3.1 behind a plain Node HTTP server, calling the model
// once per request as it arrives (no batching, no queue bound). Same model folders and request bodies as VlmService.
//   node server.mjs --port 5300 [--clip /models/clip-base] [--vlm /models/smolvlm-base]
// POST /embed {inputs:[{image: base64}]}                → {data:[{embedding:[...]}]}
// POST /vqa   {image, question, max_tokens, ignore_eos, do_image_splitting} → {answer, usage:{completion_tokens}}
import http from 'node:http';
import path from 'node:path';
import { env, AutoProcessor, CLIPVisionModelWithProjection, AutoModelForImageTextToText, RawImage } from '@huggingface/transformers';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useBrowserCache = false;
env.useFSCache = false;

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, value, i, all) => (i % 2 === 0 ? [...pairs, [value.replace(/^--/, ''), all[i + 1]]] : pairs), []));

async function load(folder, Model) {
    const absolute = path.resolve(folder);
    env.localModelPath = path.dirname(absolute) + path.sep;
    const id = path.basename(absolute);
    return { processor: await AutoProcessor.from_pretrained(id), model: await Model.from_pretrained(id, { dtype: 'fp32' }) };
}

const clip = args.clip ? await load(args.clip, CLIPVisionModelWithProjection) : null;
const vlm = args.vlm ? await load(args.vlm, AutoModelForImageTextToText) : null;

const readImage = (base64) => RawImage.fromBlob(new Blob([Buffer.from(base64, 'base64')]));

async function embed(body) {
    const data = [];
    for (const input of body.inputs) {
        const inputs = await clip.processor(await readImage(input.image));
        const { image_embeds } = await clip.model(inputs);
        data.push({ embedding: Array.from(image_embeds.data) });
    }
    return { data };
}

async function vqa(body) {
    const image = await readImage(body.image);
    const messages = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: body.question }] }];
    const prompt = vlm.processor.apply_chat_template(messages, { add_generation_prompt: true });
    const inputs = await vlm.processor(prompt, [image], { do_image_splitting: body.do_image_splitting ?? true });
    const maxTokens = body.max_tokens ?? 64;
    const output = await vlm.model.generate({ ...inputs, max_new_tokens: maxTokens, min_new_tokens: body.ignore_eos ? maxTokens : undefined, do_sample: false });
    const promptLength = inputs.input_ids.dims.at(-1);
    const answer = vlm.processor.batch_decode(output.slice(null, [promptLength, null]), { skip_special_tokens: true })[0];
    return { answer, usage: { prompt_tokens: promptLength, completion_tokens: output.dims.at(-1) - promptLength } };
}

const routes = { '/embed': () => clip && embed, '/vqa': () => vlm && vqa };

http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
        const handler = routes[request.url]?.();
        let status = 200;
        let result;
        try {
            if (!handler) {
                status = 404;
                result = { error: `no model for ${request.url}` };
            } else {
                result = await handler(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            }
        } catch (error) {
            status = 500;
            result = { error: String(error?.message ?? error) };
        }
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(result));
    });
}).listen(Number(args.port ?? 5300), '127.0.0.1', () => console.log(`peer listening on ${args.port ?? 5300}`));
