#!/usr/bin/env -S node --max-semi-space-size=8 --expose-gc
// The flags (also in `npm start`): Node's default 16 MB young-generation semi-spaces held some 30 MB
// of resident memory under load and bought no measurable CPU (npm run bench, docs/operations.md);
// --expose-gc lets file streams pace young-generation collections (src/gc-pacing.ts, docs/files.md).
import '../dist/cli.js';
