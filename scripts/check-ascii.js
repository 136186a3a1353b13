'use strict';
// lib/ and index.ts stay ASCII, comments included: V8 keeps a module's source text on the heap,
// and one non-ASCII character stores all of it as UTF-16 (server.js's became a 150 KB object).
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const files = ['index.ts', ...fs.readdirSync(path.join(root, 'lib')).filter((f) => f.endsWith('.ts')).map((f) => path.join('lib', f))];
let bad = 0;
for (const file of files) {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    let at = -1;
    for (let k = 0; k < line.length && at < 0; k++) if (line.charCodeAt(k) > 0x7f) at = k;
    if (at >= 0) {
      bad++;
      console.error(`${file}:${i + 1}:${at + 1}: non-ASCII character ${JSON.stringify(line[at])}`);
    }
  });
}
process.exit(bad > 0 ? 1 : 0);
