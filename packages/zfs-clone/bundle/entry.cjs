// CommonJS entry for ncc: bundling from here yields one CommonJS file, dist/zfs-clone.cjs, that
// Node 20 runs with nothing beside it.
require('../lib/cli/main.js');
