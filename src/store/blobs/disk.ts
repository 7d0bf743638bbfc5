import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BlobBackend, ByteRange } from './backend.js';

// Files in a folder: each written to a `.part` file, fsync'd, renamed into place and the folder
// fsync'd, so a location that exists holds all of its bytes even after a power cut.

const PART = '.part';

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function diskBackend(root: string): BlobBackend {
  const objects = path.resolve(root, 'objects');
  fs.mkdirSync(objects, { recursive: true });
  // A location is `<2 hex>/<uuid>`: 256 folders keep any one of them small.
  const fileOf = (location: string) => {
    if (!/^[0-9a-f]{2}\/[0-9a-f-]{36}$/.test(location)) throw new Error(`not a disk blob location: ${location}`);
    return path.join(objects, location);
  };
  return {
    name: 'disk',
    transactional: false,
    async write(source) {
      const id = randomUUID();
      const location = `${id.slice(0, 2)}/${id}`;
      const file = fileOf(location);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      const part = file + PART;
      const handle = await fsp.open(part, 'wx');
      try {
        for await (const chunk of source) await handle.write(chunk);
        await handle.sync();
      } catch (error) {
        await handle.close().catch(() => {});
        await fsp.rm(part, { force: true });
        throw error;
      }
      await handle.close();
      await fsp.rename(part, file);
      await fsyncDir(path.dirname(file));
      return location;
    },
    read(location, range?: ByteRange) {
      return fs.createReadStream(fileOf(location), range ? { start: range.start, end: range.end } : {});
    },
    async remove(location) {
      await fsp.rm(fileOf(location), { force: true });
    },
    async *list(before) {
      for (const dir of await fsp.readdir(objects).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{2}$/.test(dir)) continue;
        for (const name of await fsp.readdir(path.join(objects, dir))) {
          const full = path.join(objects, dir, name);
          const stat = await fsp.stat(full).catch(() => null);
          if (!stat || stat.mtimeMs >= before) continue;
          // A `.part` left by a crash mid-upload is removed directly: it never had a location.
          if (name.endsWith(PART)) await fsp.rm(full, { force: true });
          else yield `${dir}/${name}`;
        }
      }
    },
  };
}
