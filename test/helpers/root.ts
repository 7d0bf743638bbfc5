import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout's root: the first folder up from here that holds `tsconfig.json`. Found, not
 * counted in `..`s, because npm test runs these files transpiled under `.test-build/`, which has
 * a package.json and a link to scripts/ of its own but no tsconfig.json.
 */
export const repoRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'tsconfig.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('no tsconfig.json above the test helpers');
    dir = up;
  }
  return dir;
})();
