'use strict';
/**
 * `npm run bench`: every scenario, one after the other, each measuring its contenders side by side
 * in the same run. Prints tables of medians and ratios, then the targets. Options (environment):
 * BENCH_QUICK=1 (tiny runs, used by the smoke test), BENCH_DURATION, BENCH_ROUNDS,
 * BENCH_CONNECTIONS, BENCH_TOKENS, BENCH_ONLY=pinned,reused-express,unique-tokens,…
 */
const { arch, cpus, totalmem } = require('node:os');
const { startIssuer, DURATION, ROUNDS, QUICK } = require('./lib/harness');

const SCENARIOS = ['pinned', 'reused-express', 'reused-nest', 'unique-tokens', 'hostile', 'memory', 'scale', 'dpop-redis'];

async function main() {
  const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : SCENARIOS;
  const started = Date.now();
  console.log(`scopeguard benchmarks — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? arch()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
  console.log(`autocannon scenarios: ${DURATION} s per measurement, ${ROUNDS} alternating rounds, medians; ratios are what to read. Pinned cores (0): rounds of their own (see its tables).`);
  const issuer = await startIssuer();
  const targets = [];
  let failed = false;
  try {
    for (const name of only) {
      const result = await require(`./scenarios/${name}`)(issuer);
      console.log(result.text);
      targets.push(...result.targets);
      failed ||= result.failed;
    }
  } finally {
    await issuer.close();
  }
  console.log('\nTargets');
  for (const t of targets) {
    const met = (t.min === undefined || t.value >= t.min) && (t.max === undefined || t.value <= t.max);
    const goal = t.min !== undefined ? `≥ ${t.min}` : `≤ ${t.max}`;
    // Quick mode (the smoke test) runs tiny, unwarmed rounds: its values say nothing about the goals.
    // Goals measured round by round carry the interquartile range of their rounds.
    const spread = t.spread ? ` (IQR ${t.spread.map((v) => Number(v).toFixed(2)).join('…')})` : '';
    console.log(`  ${QUICK ? 'quick ' : met ? 'met   ' : 'MISSED'}  ${t.name}: ${Number(t.value).toFixed(2)}${spread} (goal ${goal})`);
  }
  console.log(`\ntotal time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (failed) {
    console.error('some requests failed unexpectedly (see the failed columns)');
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
