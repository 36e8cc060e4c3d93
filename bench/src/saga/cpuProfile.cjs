// Preloaded into each process by `bench:saga --cpu-prof DIR` (NODE_OPTIONS=--require, since
// NODE_OPTIONS refuses --cpu-prof itself): V8's sampling profiler from start to exit, written as
// DIR/<pid>.cpuprofile (Chrome DevTools' format, what `node --cpu-prof` writes).
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.MERCADO_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.once('exit', () => {
    // Same-thread sessions answer synchronously, so this completes before the process ends.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.argv[1].split('/').slice(-3, -2)[0] || 'node'}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
