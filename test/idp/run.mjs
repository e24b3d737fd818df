#!/usr/bin/env node
/**
 * Live interoperability suite: real authorization servers from Debian packages (django-oauth-toolkit,
 * Glewlwyd, LemonLDAP::NG), each behind the Express, Nest and Fastify adapters built from this
 * workspace, with the same checks on each (lib/checks.mjs). See test/idp/README.md.
 *
 *   node test/idp/run.mjs                 every server
 *   node test/idp/run.mjs glewlwyd        one (or several) by name
 *
 * Environment: IDP_TIMEOUT_S (whole run, default 840), IDP_KEEP_STATE=1 (keep each server's state
 * folder and logs, printed at the end).
 * Exit code 1 when a check fails that test/idp/known-failures.json does not list.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackages } from './lib/apt.mjs';
import { ADAPTER_NAMES, closeAdapters, startAdapters } from './lib/adapters.mjs';
import { CHECKS } from './lib/checks.mjs';
import { killAllNow, runCommand, stopAll } from './lib/processes.mjs';
import { Report } from './lib/report.mjs';
import { django } from './servers/django.mjs';
import { glewlwyd } from './servers/glewlwyd.mjs';
import { lemonldap } from './servers/lemonldap.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../..');
/** In the order of the brief: the simplest first. */
const SERVERS = [django, glewlwyd, lemonldap];
const TIMEOUT_S = Number(process.env.IDP_TIMEOUT_S ?? 840);
const KEEP_STATE = process.env.IDP_KEEP_STATE === '1';
/** State folders of servers still running: removed however the run ends (unless IDP_KEEP_STATE=1). */
const liveStateDirs = new Set();

function say(line) {
  process.stdout.write(`  ${line}\n`);
}

/** The servers named on the command line (all when none is). */
function chosenServers(argv) {
  const names = argv.filter((arg) => !arg.startsWith('-'));
  const unknown = names.filter((name) => !SERVERS.some((server) => server.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown server ${unknown.join(', ')}; known: ${SERVERS.map((server) => server.name).join(', ')}\n`);
    process.exit(2);
  }
  return names.length === 0 ? SERVERS : SERVERS.filter((server) => names.includes(server.name));
}

/** The adapters load the packages' dist/: build when a clean clone has none yet. */
async function ensureBuilt() {
  const missing = ['core', 'express', 'nestjs', 'fastify'].filter((name) => !existsSync(join(ROOT, 'packages', name, 'dist/index.js')));
  if (missing.length === 0) return;
  say(`building the packages (${missing.join(', ')} have no dist/)`);
  const { code, output } = await runCommand('npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 600_000 });
  if (code !== 0) throw new Error(`npm run build failed:\n${output.slice(-2000)}`);
}

/**
 * Every check on one server: prepare each (tokens minted once), then run it per adapter; rotation
 * checks one adapter at a time.
 */
async function runChecks(report, running, adapters) {
  const facts = (line) => report.fact(running.name, line);
  const ctx = { server: running, adapters, say, fact: facts };
  const prepared = new Map();
  for (const check of CHECKS) {
    try {
      prepared.set(check, check.prepare ? await check.prepare(ctx) : undefined);
    } catch (error) {
      prepared.set(check, { error });
    }
  }
  for (const check of CHECKS) {
    const state = prepared.get(check);
    const ids = check.ids ?? [check.id];
    for (const adapter of adapters) {
      if (state?.error) {
        for (const id of ids) report.outcome(running.name, adapter.name, id, { ok: false, reason: `could not get its tokens: ${state.error.message}` });
        continue;
      }
      let outcome;
      try {
        outcome = await check.run(ctx, adapter, state);
      } catch (error) {
        outcome = { ok: false, reason: `the check threw: ${error.message}` };
      }
      if (Array.isArray(outcome)) for (const each of outcome) report.outcome(running.name, adapter.name, each.id, each);
      else for (const id of ids) report.outcome(running.name, adapter.name, id, outcome);
    }
  }
}

/** One server from install to stop; its state folder is removed afterwards unless IDP_KEEP_STATE=1. */
async function runServer(report, idp, kept) {
  process.stdout.write(`\n== ${idp.name}\n`);
  const packages = await ensurePackages(idp.packages, { preseed: idp.preseed, say });
  if ('why' in packages) {
    report.skipServer(idp.name, packages.why);
    return;
  }
  const stateDir = mkdtempSync(join(tmpdir(), `scopeguard-idp-${idp.name}-`));
  liveStateDirs.add(stateDir);
  let running;
  let adapters = [];
  try {
    try {
      running = await idp.start(stateDir, say);
    } catch (error) {
      report.skipServer(idp.name, `the server did not start: ${error.message}`);
      return;
    }
    // Facts first: some change the server's keys, which must not happen under guards that just
    // fetched theirs (a kid first seen within 1 s of a fetch is refused, not waited for).
    for (const line of (await running.facts?.().catch((error) => [`facts unavailable: ${error.message}`])) ?? []) report.fact(idp.name, line);
    report.fact(idp.name, `guard options: ${JSON.stringify(running.options, (key, value) => (key === 'clientSecret' ? '…' : value))}`);
    try {
      adapters = await startAdapters(running.options);
    } catch (error) {
      report.fail(`${idp.name} × adapters`, `could not start with the server's options: ${error.message}`);
      return;
    }
    await runChecks(report, running, adapters);
  } finally {
    await closeAdapters(adapters);
    await running?.stop().catch(() => undefined);
    liveStateDirs.delete(stateDir);
    if (KEEP_STATE) kept.push(stateDir);
    else rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main() {
  const servers = chosenServers(process.argv.slice(2));
  const report = new Report(join(HERE, 'known-failures.json'));
  const kept = [];
  const deadline = setTimeout(async () => {
    report.fail('idp', `the suite did not finish within ${TIMEOUT_S} s (IDP_TIMEOUT_S)`);
    await stopAll();
    process.exit(report.finish());
  }, TIMEOUT_S * 1000);
  deadline.unref();
  const started = Date.now();
  await ensureBuilt();
  process.stdout.write(`idp: ${servers.map((server) => server.name).join(', ')} × ${ADAPTER_NAMES.join(', ')}\n`);
  for (const idp of servers) {
    try {
      await runServer(report, idp, kept);
    } catch (error) {
      report.fail(idp.name, error.stack ?? String(error));
    }
  }
  for (const folder of kept) process.stdout.write(`state kept: ${folder}\n`);
  process.stdout.write(`took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  clearTimeout(deadline);
  await stopAll();
  process.exit(report.finish());
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    process.stdout.write(`\n${signal}: stopping the servers\n`);
    await stopAll();
    process.exit(130);
  });
}
// Whatever ends the process, no server outlives it, and no state folder is left behind.
process.on('exit', () => {
  killAllNow();
  if (!KEEP_STATE) for (const folder of liveStateDirs) rmSync(folder, { recursive: true, force: true });
});

await main();
