/**
 * Node.js-only helpers of @sedseg/core (file access). The main entry stays free of `node:`
 * imports so that it bundles for the browser.
 */
export { fileSource } from './node/file-source.js';
