import { run } from './main.js';
import { zfsCloneCache } from './zfs-cache.js';

void run({ cache: zfsCloneCache() });
