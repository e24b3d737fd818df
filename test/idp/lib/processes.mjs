/**
 * Child processes of the suite (the authorization servers and their set-up commands): free ports
 * from the OS, each server in a process group of its own so that stopping it by its PID also stops
 * whatever it forked, and one registry so that every server started is stopped on success, failure,
 * SIGINT and time-out alike.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** @typedef {{ name: string, pid: number, exited: Promise<{ code: number | null, signal: string | null }>, log: string }} Started */

/** @type {Set<Started>} */
const running = new Set();

/** A port the OS says is free on 127.0.0.1 now (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a long-running server; its output goes to `log` (read back when it fails to start).
 * @param {string} name shown in messages
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, log: string }} options
 * @returns {Started}
 */
export function startServer(name, command, args, { env, cwd, log }) {
  const out = createWriteStream(log, { flags: 'a' });
  // detached: its own process group, so stop() can signal the group (a server's forks die with it).
  const child = spawn(command, args, { env: env ?? process.env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      out.write(`\n[spawn failed: ${error.message}]\n`);
      resolve({ code: -1, signal: null });
    });
  });
  const started = { name, pid: /** @type {number} */ (child.pid ?? -1), exited, log };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

/** Signals a server's process group (by its PID), then kills it if it has not exited within `graceMs`. */
export async function stop(started, graceMs = 3000) {
  if (!running.has(started) || started.pid < 0) return;
  signalGroup(started.pid, 'SIGTERM');
  const timer = new Promise((resolve) => setTimeout(resolve, graceMs, 'timeout'));
  if ((await Promise.race([started.exited, timer])) === 'timeout') {
    signalGroup(started.pid, 'SIGKILL');
    await started.exited;
  }
  running.delete(started);
}

/** Stops every server still running (exit paths: the end of a run, SIGINT, the suite's deadline). */
export async function stopAll() {
  await Promise.all([...running].map((started) => stop(started)));
}

/** Synchronous last resort for `process.on('exit')`: nothing can be awaited there. */
export function killAllNow() {
  for (const started of running) signalGroup(started.pid, 'SIGKILL');
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Runs a command to its end (set-up steps: migrations, debconf, apt). Never throws for a non-zero
 * exit: the caller decides what a failure means.
 * @param {string} command
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, input?: string, timeoutMs?: number }} [options]
 * @returns {Promise<{ code: number | null, output: string }>}
 */
export function runCommand(command, args, { env, cwd, input, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: env ?? process.env, cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    const started = { name: command, pid: child.pid ?? -1, exited: new Promise((done) => child.once('close', (code, signal) => done({ code, signal }))), log: '' };
    running.add(started);
    const timer = setTimeout(() => signalGroup(started.pid, 'SIGKILL'), timeoutMs);
    child.once('error', (error) => chunks.push(Buffer.from(`spawn failed: ${error.message}`)));
    child.stdin.end(input ?? '');
    void started.exited.then(({ code }) => {
      clearTimeout(timer);
      running.delete(started);
      resolve({ code, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

/** The last lines of a server's log, to say why it did not start. */
export function logTail(started, lines = 15) {
  try {
    return readFileSync(started.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Waits until `url` answers any HTTP status (the server listens), failing early when the server exits.
 * @param {Started} started
 * @param {string} url
 * @param {number} timeoutMs
 */
export async function waitForHttp(started, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void started.exited.then(() => { exited = true; });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${started.name} exited before it answered on ${url}:\n${logTail(started)}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000), redirect: 'manual' });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
  throw new Error(`${started.name} did not answer on ${url} within ${timeoutMs} ms:\n${logTail(started)}`);
}
