// Usage: node tokenize.mjs <model folder> <strings.json> → JSON [{ids, tokens}] on stdout.
import fs from 'node:fs';
import { AutoTokenizer } from '@huggingface/transformers';
import { locate } from './common.mjs';

const [folder, inputPath] = process.argv.slice(2);
const tokenizer = await AutoTokenizer.from_pretrained(locate(folder));
const texts = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
const results = texts.map((text) => {
    const encoded = tokenizer._tokenizer.encode(text);
    return { ids: encoded.ids, tokens: encoded.tokens };
});
process.stdout.write(JSON.stringify(results));
