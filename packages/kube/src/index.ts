export type * from './types.js';
export { R } from './resources.js';
