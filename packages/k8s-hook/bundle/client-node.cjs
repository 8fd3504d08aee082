// Entry for ncc: @kubernetes/client-node alone, carried in dist/index.js as a block the loader
// compiles only when the hook requires it (a kubeconfig beyond the fast path, ADR 0018).
module.exports = require('@kubernetes/client-node');
