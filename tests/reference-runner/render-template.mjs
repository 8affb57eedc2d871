// Usage: node render-template.mjs <request.json> → JSON [rendered | {error}] on stdout.
// request: { template, special_tokens: {bos_token, ...}, cases: [{ messages, add_generation_prompt }] }
import fs from 'node:fs';
import { Template } from '@huggingface/jinja';

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const template = new Template(request.template);
const results = request.cases.map((c) => {
    try {
        return template.render({ ...request.special_tokens, messages: c.messages, add_generation_prompt: c.add_generation_prompt });
    } catch (error) {
        return { error: String(error?.message ?? error) };
    }
});
process.stdout.write(JSON.stringify(results));
