import { InvalidTokenError } from '../src/http/errors';
import { OperatorLog } from '../src/hooks/operator-log';

/** The operator log's counting, with an injected clock (the adapters' behaviour is in test/operator-log.test.ts). */
function logWithClock() {
  let now = 1_000_000;
  const lines: string[] = [];
  const log = new OperatorLog({ warn: (line) => lines.push(line) }, () => now);
  return { log, lines, advance: (ms: number) => (now += ms) };
}
const foreignAudience = () => new InvalidTokenError('ERR_TOKEN_CLAIM', 'the aud claim is not accepted', { claim: 'aud', detail: "token aud 'x' is not the configured 'y'" });

describe('OperatorLog', () => {
  it('counts admissions made after an idle window: a few of them then one foreign token is no line', () => {
    const { log, lines, advance } = logWithClock();
    advance(5 * 60_000); // a quiet service: the first window is long over
    for (let i = 0; i < 10; i++) log.passed();
    log.refused(foreignAudience());
    expect(lines).toEqual([]);
  });

  it('counts admissions in the first window, before any refusal read the clock', () => {
    const { log, lines } = logWithClock();
    for (let i = 0; i < 10; i++) log.passed();
    log.refused(foreignAudience());
    expect(lines).toEqual([]);
  });

  it('a foreign audience on most requests is one line, naming both sides', () => {
    const { log, lines, advance } = logWithClock();
    log.passed();
    for (let i = 0; i < 3; i++) log.refused(foreignAudience());
    advance(1_000);
    log.refused(foreignAudience());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("token aud 'x' is not the configured 'y'");
  });

  it('admissions of a past window do not dilute a later one', () => {
    const { log, lines, advance } = logWithClock();
    for (let i = 0; i < 1000; i++) log.passed();
    advance(61_000);
    // At most 63 of those admissions were not placed in time (the clock is read every 64th).
    for (let i = 0; i < 64; i++) log.refused(foreignAudience());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('in the last 60 s');
  });

  // Newcomer trial: one misconfigured calling service among healthy ones was never a line.
  it('one caller with a wrong audience among many good ones: a line once its refusals reach 10 in a window', () => {
    const { log, lines } = logWithClock();
    for (let i = 0; i < 500; i++) log.passed();
    for (let i = 0; i < 9; i++) log.refused(foreignAudience());
    expect(lines).toEqual([]);
    log.refused(foreignAudience());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/on 10 of \d+ request/);
  });
});
