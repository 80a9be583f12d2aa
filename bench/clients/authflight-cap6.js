// authflight as shipped, with `maxConcurrent: 6` (the HTTP/1.1 connection count): at most 6 requests
// in flight, none sent while a refresh runs, so a burst after expiry meets only a handful of 401s.
import { createWith } from './authflight.js';

export const name = 'authflight (maxConcurrent 6)';

export const create = (opts) => createWith({ maxConcurrent: 6 }, opts);
