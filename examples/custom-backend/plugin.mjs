// A sedseg backend plugin: `sedseg segment --backend ./examples/custom-backend/plugin.mjs …`.
// The CLI imports this file and uses its default export, a BackendDefinition (importing the
// build also registers the backend as `js`). Build first: `npm run build` (writes ./dist).
import { jsBackend } from './dist/index.js';

export default jsBackend;
