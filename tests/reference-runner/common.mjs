// Shared setup: transformers.js reads model folders from disk only, never from a hub.
import path from 'node:path';
import { env } from '@huggingface/transformers';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useBrowserCache = false;
env.useFSCache = false;

/** Splits an absolute folder into transformers.js's (localModelPath, model id) pair. */
export function locate(folder) {
    const absolute = path.resolve(folder);
    env.localModelPath = path.dirname(absolute) + path.sep;
    return path.basename(absolute);
}
