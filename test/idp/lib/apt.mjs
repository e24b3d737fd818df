/**
 * Debian packages, installed only when missing: `apt-get update` only when a package has no
 * candidate, `--no-install-recommends`, quiet, and the dpkg lock waited for (CI or another install
 * may hold it). A package that cannot be installed makes its server skipped, never a failure; the
 * reason says whether apt could not reach its mirror.
 */
import { runCommand } from './processes.mjs';

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const LOCK_TIMEOUT = ['-o', 'DPkg::Lock::Timeout=900'];

/** @typedef {{ ok: true, installed: string[] } | { ok: false, why: string }} AptResult */

/** Packages of `names` that dpkg does not list as installed. */
export async function missingPackages(names) {
  const missing = [];
  for (const name of names) {
    const { code, output } = await runCommand('dpkg-query', ['-W', '-f=${db:Status-Status}', name]);
    if (code !== 0 || output.trim() !== 'installed') missing.push(name);
  }
  return missing;
}

async function hasCandidate(name) {
  const { output } = await runCommand('apt-cache', ['policy', name]);
  const candidate = /Candidate:\s*(\S+)/.exec(output)?.[1];
  return candidate !== undefined && candidate !== '(none)';
}

/** apt's words for "the mirror could not be reached", so the reason can say so. */
function unreachable(output) {
  return /Temporary failure resolving|Could not resolve|Failed to fetch|Unable to fetch|Unable to connect|Network is unreachable|Connection timed out/i.test(output);
}

function lastLines(output, count = 4) {
  return output.trim().split('\n').filter(Boolean).slice(-count).join(' | ');
}

/**
 * Installs what is missing of `names`.
 * @param {string[]} names
 * @param {{ preseed?: string, say: (line: string) => void }} options `preseed`: debconf-set-selections input, applied first
 * @returns {Promise<AptResult>}
 */
export async function ensurePackages(names, { preseed, say }) {
  const missing = await missingPackages(names);
  if (missing.length === 0) return { ok: true, installed: [] };
  if (process.getuid?.() !== 0) return { ok: false, why: `${missing.join(', ')} not installed, and installing needs root` };
  if (preseed) {
    const { code, output } = await runCommand('debconf-set-selections', [], { input: preseed });
    if (code !== 0) return { ok: false, why: `debconf-set-selections failed: ${lastLines(output)}` };
  }
  const withoutCandidate = [];
  for (const name of missing) if (!(await hasCandidate(name))) withoutCandidate.push(name);
  if (withoutCandidate.length > 0) {
    say(`apt-get update (no candidate for ${withoutCandidate.join(', ')})`);
    const update = await runCommand('apt-get', ['update', '-qq', ...LOCK_TIMEOUT], { env: APT_ENV });
    if (update.code !== 0 && unreachable(update.output)) return { ok: false, why: `apt cannot reach its mirror: ${lastLines(update.output, 2)}` };
    const still = [];
    for (const name of withoutCandidate) if (!(await hasCandidate(name))) still.push(name);
    if (still.length > 0) return { ok: false, why: `no installation candidate for ${still.join(', ')}` };
  }
  say(`apt-get install ${missing.join(' ')}`);
  const started = Date.now();
  const install = await runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...LOCK_TIMEOUT, ...missing], { env: APT_ENV, timeoutMs: 900_000 });
  if (install.code !== 0) {
    const why = unreachable(install.output) ? 'apt cannot reach its mirror' : 'apt-get install failed';
    return { ok: false, why: `${why}: ${lastLines(install.output)}` };
  }
  say(`installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { ok: true, installed: missing };
}
