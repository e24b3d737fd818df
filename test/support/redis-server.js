'use strict';
/**
 * A real `redis-server` (Debian's package) for `npm run test:redis` and the bench's Redis scenario:
 * started on 127.0.0.1 and a free port, with no persistence, stopped after. `kill()` ends it at once
 * (SIGKILL, as a crash would); `start()` brings it back on the same port. Plain JavaScript, typed by
 * redis-server.d.ts, so that the bench (JavaScript) and the tests (TypeScript) share it.
 */
const { spawn, spawnSync } = require('node:child_process');
const { createServer } = require('node:net');
const { createInterface } = require('node:readline');

/** A port no one listens on now (the kernel's pick for port 0, released). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether `redis-server` is on the PATH. */
function hasRedisServer() {
  return spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function startRedis() {
  const port = await freePort();
  let child;
  const start = async () => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    await new Promise((resolve, reject) => {
      const lines = [];
      createInterface({ input: started.stdout }).on('line', (line) => {
        lines.push(line);
        if (line.includes('Ready to accept connections')) resolve();
      });
      started.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${lines.join('\n')}`)));
    });
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise((resolve) => {
      running.once('exit', resolve);
      running.kill('SIGKILL');
    });
  };
  // A stalled server (SIGSTOP): connections stay open, nothing answers; SIGCONT resumes it.
  const pause = () => child?.kill('SIGSTOP');
  const resume = () => child?.kill('SIGCONT');
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, kill, stop: async () => (resume(), kill()), pause, resume };
}

module.exports = { startRedis, hasRedisServer };
