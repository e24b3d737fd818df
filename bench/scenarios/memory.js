'use strict';
/**
 * 5. Memory, in a child process with --expose-gc: heap after N unique valid tokens, each verified
 * twice so the cache admits them all (default 1 000 000; the verified-token cache must stay within
 * its bound) and after M requests with one
 * token (default 10 000 000; flat). Tokens are EdDSA so minting a million stays quick.
 */
const { fork } = require('node:child_process');
const { QUICK, table, fixed } = require('../lib/harness');

const UNIQUE = Number(process.env.BENCH_MEMORY_TOKENS || (QUICK ? 2000 : 1_000_000));
const REUSED = Number(process.env.BENCH_MEMORY_REQUESTS || (QUICK ? 20000 : 10_000_000));

if (require.main === module) {
  // Child: run the measurement and report.
  (async () => {
    const { Scopeguard } = require('@scopeguard/core');
    const { createTestIssuer } = require('@scopeguard/testing');
    const issuer = await createTestIssuer({ algorithms: ['EdDSA'] });
    const engine = new Scopeguard({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, algorithms: ['EdDSA'] });
    const heap = () => {
      global.gc();
      return process.memoryUsage().heapUsed;
    };
    await engine.verify(await issuer.mint({ alg: 'EdDSA' }));
    const start = heap();
    const samples = [];
    const started = Date.now();
    const batch = 500;
    // Bytes per cached verdict: the heap's growth while the cache fills to its entry bound (10 000),
    // over the entries then held (token text, verdict, claims, principal, map slots, doorkeeper).
    const FILL = Math.min(UNIQUE, 10_000);
    let filled;
    for (let i = 0; i < UNIQUE; i += batch) {
      const tokens = await Promise.all(Array.from({ length: Math.min(batch, UNIQUE - i) }, (_, j) => issuer.mint({ alg: 'EdDSA', clientId: `c${(i + j) % 1000}`, scope: 'orders.read' })));
      // Twice each: the cache admits a token on its second verification, so every token gets in
      // and the cache's bound, not its doorkeeper, is what is measured.
      await Promise.all(tokens.map((token) => engine.verify(token)));
      await Promise.all(tokens.map((token) => engine.verify(token)));
      if ((i / batch) % Math.max(1, Math.floor(UNIQUE / batch / 4)) === 0) samples.push(heap());
      if (i + batch === FILL) filled = { heap: heap(), ...engine.stats() };
    }
    const afterUnique = heap();
    const uniqueSeconds = (Date.now() - started) / 1000;
    const token = await issuer.mint({ alg: 'EdDSA', scope: 'orders.read' });
    const beforeReused = heap();
    for (let i = 0; i < REUSED; i++) await engine.verify(token);
    const afterReused = heap();
    process.send({ start, filled, samples, afterUnique, uniqueSeconds, beforeReused, afterReused, stats: engine.stats() });
    await issuer.close();
  })();
} else {
  module.exports = async function memory() {
    const child = fork(__filename, [], { execArgv: ['--expose-gc'] });
    const result = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => code && reject(new Error(`memory child exited with ${code}`)));
    });
    child.kill();
    const mb = (bytes) => fixed(bytes / 1024 / 1024, 1);
    const bound = 32 * 1024 * 1024;
    const growthUnique = result.afterUnique - result.start;
    const growthReused = result.afterReused - result.beforeReused;
    return {
      text: table('5. Memory (heap after GC)', ['measurement', 'value'], [
        [`heap at start`, `${mb(result.start)} MB`],
        [`after ${UNIQUE.toLocaleString('en')} unique tokens, each verified twice (${fixed(result.uniqueSeconds)} s)`, `${mb(result.afterUnique)} MB (+${mb(growthUnique)} MB; samples ${result.samples.map(mb).join(', ')})`],
        [`bytes per cached verdict (heap growth / entries at ${result.filled.cachedTokens} entries; the cache's own estimate)`, `${fixed((result.filled.heap - result.start) / result.filled.cachedTokens)} B (${fixed(result.filled.cachedBytes / result.filled.cachedTokens)} B)`],
        [`cached verdicts / cache bytes`, `${result.stats.cachedTokens} / ${mb(result.stats.cachedBytes)} MB (bound: 10000 entries, 32 MB)`],
        [`after ${REUSED.toLocaleString('en')} requests with one token`, `${mb(result.afterReused)} MB (${growthReused >= 0 ? '+' : ''}${mb(growthReused)} MB)`],
      ]),
      targets: [
        { name: 'memory: verified-token cache within its bound', value: result.stats.cachedTokens, max: 10000 },
        // The byte bound (maxBytes) holds only if the cache's estimate per entry is not below the truth.
        { name: "memory: bytes per cached verdict ≤ the cache's estimate", value: (result.filled.heap - result.start) / result.filled.cachedBytes, max: 1 },
        { name: 'memory: heap growth after unique tokens ≤ cache bound (MB)', value: growthUnique / 1024 / 1024, max: bound / 1024 / 1024 },
        { name: 'memory: heap flat over reused-token requests (MB growth)', value: growthReused / 1024 / 1024, max: 2 },
      ],
      failed: false,
    };
  };
}
