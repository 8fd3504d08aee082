// CommonJS entry for ncc: bundling from here yields a CommonJS bundle that `node dist/index.js`
// runs with no package.json beside it.
require('../lib/index.js');
