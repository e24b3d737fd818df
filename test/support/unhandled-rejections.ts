/**
 * Fails the run on any unhandled promise rejection: a dropped promise is a crash in production
 * (Node exits on one by default). Jest fails the test that is running when one happens; this also
 * catches those that surface between tests or after the last one, and names the reason.
 */
const rejections: unknown[] = [];
const record = (reason: unknown) => void rejections.push(reason);
process.on('unhandledRejection', record);

function check(): void {
  if (rejections.length === 0) return;
  const reasons = rejections.splice(0).map((reason) => (reason instanceof Error ? reason.stack ?? reason.message : String(reason)));
  throw new Error(`unhandled promise rejection(s):\n${reasons.join('\n')}`);
}

afterEach(check);
afterAll(async () => {
  // Let rejections of work still settling (closing servers, timers) surface before judging.
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', record);
  check();
});
