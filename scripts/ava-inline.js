'use strict';
// Runs the ava suite a second time with servers' IO on the JS thread (FERROHTTP_IO=inline), the
// mode a process confined to one CPU gets by default. Linux only: elsewhere servers always use
// the IO thread, so there is nothing different to test.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

if (process.platform !== 'linux') {
  console.log('ava-inline: not Linux, skipped');
  process.exit(0);
}
// ava exports no package.json; its CLI sits beside its main entry point.
const cli = path.join(path.dirname(require.resolve('ava')), 'cli.mjs');
const r = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, FERROHTTP_IO: 'inline' },
});
process.exit(r.status ?? 1);
