import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout's root: the first folder up from here that holds `bin/relinks.js`. Found, not
 * counted in `..`s, because npm test runs these files transpiled under `.test-build/`.
 */
export const repoRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'bin', 'relinks.js'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('no bin/relinks.js above the test helpers');
    dir = up;
  }
  return dir;
})();
