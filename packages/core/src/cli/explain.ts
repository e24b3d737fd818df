/**
 * `scopeguard explain`: why an API guarded by scopeguard would admit or refuse a token, check by check.
 *
 * Every verdict comes from the function the engine runs for that stage, through the adapter kit: the
 * JWS parser, `checkTokenHeader`, the key selection, the signature primitive, `checkClaims`, `tokenFacts`
 * (client id, machine or user), the permission source and the intersection; no rule is written here.
 * The final answer comes from a real engine built with the same options, so the CLI can never disagree
 * with the API. (Its own copy of the machine-token rule once did: it missed a `username` naming a user.) The token is decoded here and never sent anywhere:
 * the only network access is fetching the issuer's key set, and only when no --jwks file is given.
 */
import { readFileSync } from 'node:fs';
// The CLI is an adapter of its own: the user's API and the kit, as a third party would import them.
import {
  Scopeguard,
  ScopeguardConfigError,
  ScopeguardError,
  permissionResolverOf,
  scopeRequirement,
  type PermissionMap,
  type PresetName,
  type Principal,
  type ScopeRequirement,
  type ScopeguardOptions,
} from '..';
import {
  InvalidTokenError,
  PRESETS,
  PinnedKeySet,
  checkClaims,
  discoverJwksUri,
  effectivePermissions,
  meetsRequirement,
  parseCompactJws,
  publicKeyFromJwk,
  scopesFromClaims,
  unusableReason,
  checkTokenHeader,
  tokenFacts,
  verifySignature,
  type CandidateKey,
  type ParsedJws,
  type ResolvedIssuer,
  type VerificationKey,
} from '../adapter';
import { list, parse, printable, printableJson, required, text, UsageError, type Parsed } from './args';

export const EXPLAIN_USAGE = `Usage: scopeguard explain <token|-> --issuer <url> --audience <aud> [options]

Decodes an access token offline and shows, check by check, why an API guarded by scopeguard with these
options would admit or refuse it, then the answer the API would give (from the real engine). The token is
never sent anywhere; the only network access is fetching the issuer's key set (from --jwks-uri, or by
discovery from --issuer), and none at all with --jwks. Give - as the token to read it from stdin.
The output holds the token's decoded header and claims, never the token or its signature.

  --issuer <url>              the trusted issuer (required)
  --audience <aud>            this API's identifier (required; repeatable)
  --preset <name>             claim layout: ${Object.keys(PRESETS).join(', ')} (default rfc9068)
  --permissions <file.json>   what the API holds per client: { "client-id": ["scope", …] }
  --require <scope>           the route needs this scope (repeatable: all of them)
  --require-any <a,b>         the route needs one of these scopes (repeatable)
  --jwks <file.json>          the issuer's JWK Set from a file: no network at all
  --jwks-uri <url>            the issuer's JWK Set URL (default: discovered from --issuer)
  --algorithms <RS256,ES256>  allowed algorithms (default RS256)
  --strict                    RFC 9068 profile: typ at+jwt and every RFC 9068 claim required
  --require-client-credentials  refuse tokens that represent a user
  --client-ids <a,b>          accept only these clients (required by --preset cognito)
  --json                      print the same as one JSON object
  -h, --help                  this text

Exit codes: 0 the API would admit the token, 1 it would refuse it, 2 usage error.`;

const OPTIONS = {
  issuer: { type: 'string' },
  audience: { type: 'string', multiple: true },
  preset: { type: 'string' },
  permissions: { type: 'string' },
  require: { type: 'string', multiple: true },
  'require-any': { type: 'string', multiple: true },
  jwks: { type: 'string' },
  'jwks-uri': { type: 'string' },
  algorithms: { type: 'string', multiple: true },
  strict: { type: 'boolean' },
  'require-client-credentials': { type: 'boolean' },
  'client-ids': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Key-set and discovery fetches: core's default `jwks.timeoutMs`. */
const FETCH_TIMEOUT_MS = 5000;
const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;

/** One line of the explanation: ✓ (true), ✗ (false), or · (not checked, or for information). */
export interface Check {
  readonly check: string;
  readonly ok: boolean | null;
  readonly detail: string;
}

/** A JWK of the issuer's set, with why it cannot verify anything, or its imported key. */
interface IssuerKey {
  readonly jwk: Record<string, unknown>;
  readonly unusable: string | undefined;
  readonly key: VerificationKey | undefined;
}

/** The issuer's key set as the CLI obtained it, and what that cost in network access. */
interface Keys {
  readonly keys: readonly IssuerKey[] | undefined;
  /** Why there are no keys, when they could not be obtained. */
  readonly unreachable: string | undefined;
  /** The JWKS URL, when known (given, or discovered). */
  readonly jwksUri: string | undefined;
  readonly network: string;
}

/** Runs `scopeguard explain`; resolves with the exit code. */
export async function explain(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, OPTIONS, EXPLAIN_USAGE);
  if (parsed.values.help) {
    process.stdout.write(`${EXPLAIN_USAGE}\n`);
    return 0;
  }
  const token = await tokenFrom(parsed);
  const settings = settingsFrom(parsed);
  const now = Date.now();
  const decoded = decode(token);
  // A token that does not parse needs no keys: nothing is fetched for it (a --jwks file is still read).
  const keys: Keys =
    decoded.parsed || text(parsed, 'jwks') !== undefined
      ? await obtainKeys(parsed, settings.issuer)
      : { keys: undefined, unreachable: 'the token does not parse', jwksUri: undefined, network: 'none (the token does not parse)' };
  const engine = buildEngine(parsed, settings, keys, now);
  const rules = engine.options.issuers[0]!;

  const checks = [decoded.check];
  if (decoded.parsed) checks.push(...(await explainToken(decoded.parsed, rules, keys, settings, now / 1000)));

  // The answer the API would give: the real engine, the same options, the same instant.
  let principal: Principal | undefined;
  let refusal: ScopeguardError | undefined;
  try {
    principal = await engine.admit({ authorization: `Bearer ${token}` }, settings.requirements);
  } catch (error) {
    refusal = error as ScopeguardError;
  }
  checks.push(answerCheck(principal, refusal));

  const report = {
    notice: 'this output holds the decoded header and claims of the token (never the token itself or its signature)',
    network: `${keys.network}; the token itself is never sent anywhere`,
    checks,
    header: decoded.parsed?.header,
    claims: decoded.parsed?.payload,
    answer: principal
      ? { admitted: true, status: 200, clientId: principal.clientId, permissions: principal.permissions }
      : { admitted: false, status: refusal!.status, error: refusal!.error, code: refusal!.code, description: refusal!.description, ...(refusal!.detail !== undefined && { detail: refusal!.detail }) },
  };
  process.stdout.write(parsed.values.json ? `${printableJson(report, 2)}\n` : render(report));
  return principal ? 0 : 1;
}

/** The token: the positional argument, or stdin for `-` (keeps it out of shell history). */
async function tokenFrom(parsed: Parsed): Promise<string> {
  if (parsed.positionals.length !== 1) throw new UsageError(parsed.positionals.length === 0 ? 'give the token (or - to read it from stdin)' : 'give exactly one token', EXPLAIN_USAGE);
  let token = parsed.positionals[0]!;
  if (token === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    token = Buffer.concat(chunks).toString('utf8');
  }
  // What is usually pasted: the header value, or the token with a line break.
  token = token.trim().replace(/^Bearer\s+/i, '');
  if (token === '') throw new UsageError('the token is empty', EXPLAIN_USAGE);
  return token;
}

interface Settings {
  readonly issuer: string;
  readonly permissionsFile: string | undefined;
  readonly permissions: PermissionMap | undefined;
  readonly requirements: readonly ScopeRequirement[];
  readonly preset: PresetName;
}

function settingsFrom(parsed: Parsed): Settings {
  const issuer = required(parsed, 'issuer', EXPLAIN_USAGE);
  if (list(parsed, 'audience', false).length === 0) throw new UsageError('--audience is required', EXPLAIN_USAGE);
  const preset = text(parsed, 'preset') ?? 'rfc9068';
  if (!Object.hasOwn(PRESETS, preset)) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`, EXPLAIN_USAGE);
  if (text(parsed, 'jwks') !== undefined && text(parsed, 'jwks-uri') !== undefined) throw new UsageError('give --jwks or --jwks-uri, not both', EXPLAIN_USAGE);
  const permissionsFile = text(parsed, 'permissions');
  const permissions = permissionsFile === undefined ? undefined : permissionMapIn(permissionsFile);
  let requirements: ScopeRequirement[];
  try {
    requirements = [
      ...(list(parsed, 'require').length > 0 ? [scopeRequirement('all', list(parsed, 'require'))] : []),
      ...list(parsed, 'require-any', false).map((scopes) => scopeRequirement('any', scopes.split(',').map((scope) => scope.trim()))),
    ];
  } catch (error) {
    throw new UsageError(`--require: ${(error as Error).message}`, EXPLAIN_USAGE);
  }
  return { issuer, permissionsFile, permissions, requirements, preset: preset as PresetName };
}

/**
 * The --permissions file: a map of client ids to lists of scopes, and nothing else. Anything else
 * (`"token"`, which the engine would read as "no intersection", `null`, a list) is a usage error.
 */
function permissionMapIn(file: string): PermissionMap {
  const map = readJson(file, '--permissions');
  const isMap =
    typeof map === 'object' && map !== null && !Array.isArray(map) &&
    Object.values(map).every((held) => Array.isArray(held) && held.every((scope) => typeof scope === 'string'));
  if (!isMap) throw new UsageError(`--permissions: ${file} is not a permissions map: { "client-id": ["scope", …] }`, EXPLAIN_USAGE);
  return map as PermissionMap;
}

function readJson(file: string, flag: string): unknown {
  let textContent: string;
  try {
    textContent = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, EXPLAIN_USAGE);
  }
  try {
    return JSON.parse(textContent);
  } catch {
    throw new UsageError(`${flag}: ${file} is not JSON`, EXPLAIN_USAGE);
  }
}

/** The form check, with core's JWS parser (canonical base64url, JSON objects, no duplicate members). */
function decode(token: string): { check: Check; parsed: ParsedJws | undefined } {
  try {
    const parsed = parseCompactJws(token, (description) => {
      throw new Error(description);
    });
    return { parsed, check: { check: 'form', ok: true, detail: 'compact JWS: three canonical base64url segments, JSON objects, no duplicate members' } };
  } catch (error) {
    return { parsed: undefined, check: { check: 'form', ok: false, detail: (error as Error).message } };
  }
}

/**
 * The issuer's key set: from --jwks (no network), else from --jwks-uri or the `jwks_uri` discovered from
 * the issuer. Never fails: keys that cannot be had are reported (the engine then meets the same outage).
 */
async function obtainKeys(parsed: Parsed, issuer: string): Promise<Keys> {
  const file = text(parsed, 'jwks');
  if (file !== undefined) {
    const set = readJson(file, '--jwks') as { keys?: unknown };
    if (typeof set !== 'object' || set === null || !Array.isArray(set.keys)) throw new UsageError(`--jwks: ${file} is not a JWK Set ({ "keys": [...] })`, EXPLAIN_USAGE);
    return { keys: importKeys(set.keys), unreachable: undefined, jwksUri: undefined, network: `none: keys from ${file}` };
  }
  let jwksUri = text(parsed, 'jwks-uri');
  const found = jwksUri === undefined ? ` (discovered from ${issuer})` : '';
  try {
    jwksUri ??= await discoverJwksUri(issuer, FETCH_TIMEOUT_MS);
    const response = await fetch(jwksUri, { headers: { accept: 'application/json, application/jwk-set+json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${jwksUri} answered HTTP ${response.status}`);
    const set = (await response.json().catch(() => undefined)) as { keys?: unknown } | undefined;
    if (typeof set !== 'object' || set === null || !Array.isArray(set.keys)) throw new Error(`${jwksUri} is not a JWK Set`);
    return { keys: importKeys(set.keys), unreachable: undefined, jwksUri, network: `the issuer's key set, fetched from ${jwksUri}${found}, once here and once by the engine` };
  } catch (error) {
    // fetch's own "fetch failed" names no URL: say which one could not be reached, and why (its cause).
    const message = (error as Error).message;
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const why = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
    const reason =
      (error as Error).name === 'TimeoutError' ? `${jwksUri ?? issuer} did not answer within ${FETCH_TIMEOUT_MS / 1000} s`
      : message === 'fetch failed' && jwksUri !== undefined ? `${jwksUri} could not be reached${why === undefined ? '' : ` (${why})`}`
      : message;
    return { keys: undefined, unreachable: reason, jwksUri, network: `the issuer's key set only, which could not be fetched (${reason})` };
  }
}

/** Every member of a JWK Set, with core's reason for not loading it (jwks.ts), or its imported key. */
function importKeys(members: unknown[]): IssuerKey[] {
  return members.map((member) => {
    const jwk = typeof member === 'object' && member !== null && !Array.isArray(member) ? (member as Record<string, unknown>) : {};
    const unusable = unusableReason(jwk);
    if (unusable !== undefined) return { jwk, unusable, key: undefined };
    try {
      return { jwk, unusable: undefined, key: publicKeyFromJwk(jwk) };
    } catch {
      return { jwk, unusable: 'it is not a valid public key', key: undefined };
    }
  });
}

/**
 * The engine the API would run with these options. Keys from a file are pinned, minus the members a
 * fetched set would skip too (an `enc` key, a private one), so that a set copied from an issuer explains
 * as it verifies; otherwise the engine fetches the key set itself, so an outage is its own 503.
 */
function buildEngine(parsed: Parsed, settings: Settings, keys: Keys, now: number): Scopeguard {
  const usable = keys.keys?.filter((key) => key.key !== undefined).map((key) => key.jwk);
  const pinned = text(parsed, 'jwks') !== undefined;
  if (pinned && usable !== undefined && usable.length === 0) throw new UsageError('--jwks: the set holds no usable signing key', EXPLAIN_USAGE);
  const algorithms = list(parsed, 'algorithms');
  const clientIds = list(parsed, 'client-ids');
  const audiences = list(parsed, 'audience', false);
  const options = {
    issuer: settings.issuer,
    audience: audiences.length === 1 ? audiences[0]! : audiences,
    preset: settings.preset,
    ...(algorithms.length > 0 && { algorithms }),
    strict: parsed.values.strict === true,
    requireClientCredentials: parsed.values['require-client-credentials'] === true,
    ...(clientIds.length > 0 && { clientIds }),
    permissions: settings.permissions ?? 'token',
    ...(pinned ? { keys: { keys: usable! } } : keys.jwksUri !== undefined && { jwksUri: keys.jwksUri }),
    tokenCache: false,
    // One instant for every line and for the engine: "expires in 1 s" cannot turn into a 401 between them.
    clock: () => now,
  } as ScopeguardOptions;
  try {
    return new Scopeguard(options);
  } catch (error) {
    if (error instanceof ScopeguardConfigError) throw new UsageError(`these options would not start an API: ${error.message}`, EXPLAIN_USAGE);
    throw error;
  }
}

/** Every check after the form, for a token that parsed. */
async function explainToken(parsed: ParsedJws, rules: ResolvedIssuer, keys: Keys, settings: Settings, now: number): Promise<Check[]> {
  const { header, payload } = parsed;
  const alg = header.alg;
  const checks: Check[] = [];
  const allowed = rules.algorithms.join(', ');
  // The verdicts are core's header rules (verify.ts), as the engine runs them on a new token.
  const { alg: algRefusal, rest: problem } = headerVerdicts(header, rules);
  checks.push(
    algRefusal === undefined
      ? { check: 'alg', ok: true, detail: `${String(alg)} (allowed: ${allowed})` }
      : { check: 'alg', ok: false, detail: `${typeof alg === 'string' ? alg : 'no alg'} is not allowed (allowed: ${allowed}; none and HS* never are)` },
  );
  const typ = header.typ === undefined ? 'no typ' : `typ ${JSON.stringify(header.typ)}`;
  if (problem?.claim === 'typ' || problem?.claim === 'cty') checks.push({ check: 'typ', ok: false, detail: `${typ}: ${problem.description}` });
  else if (problem !== undefined || typeof alg !== 'string') checks.push({ check: 'typ', ok: null, detail: `${typ}: not checked (the header is refused before)` });
  else checks.push({ check: 'typ', ok: true, detail: `${typ} is an access-token type${rules.strict ? ' (strict: at+jwt)' : ''}` });

  const { kidCheck, candidates } = keyFor(header, keys, problem, algRefusal === undefined);
  checks.push(kidCheck, await signatureCheck(parsed, keys, candidates));
  checks.push(...claimChecks(payload, rules, now));
  checks.push(...(await principalChecks(payload, rules, settings)));
  return checks;
}

/** The refusal `check` throws, or `undefined` when it passes. */
function refusalOf(check: () => unknown): InvalidTokenError | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof InvalidTokenError) return error;
    throw error;
  }
}

/**
 * Core's header rules (`checkTokenHeader`): the allow-list's verdict on `alg`, and the rest (kid, crit,
 * typ, cty), run with the token's own `alg` allowed when the allow-list refuses it, so each line says
 * what the engine would say of it.
 */
function headerVerdicts(header: Record<string, unknown>, rules: ResolvedIssuer): { alg: InvalidTokenError | undefined; rest: InvalidTokenError | undefined } {
  const first = refusalOf(() => checkTokenHeader(header, rules));
  if (first?.claim !== 'alg') return { alg: undefined, rest: first };
  const alg = header.alg;
  const rest = typeof alg === 'string' ? refusalOf(() => checkTokenHeader(header, { ...rules, algorithms: [alg] as unknown as ResolvedIssuer['algorithms'] })) : undefined;
  return { alg: first, rest };
}

/** Which key of the set would verify the token: core's own selection (by `alg`, key type, curve, `kid`). */
function keyFor(header: Record<string, unknown>, keys: Keys, problem: InvalidTokenError | undefined, algAllowed: boolean): { kidCheck: Check; candidates: readonly CandidateKey[] } {
  const kid = typeof header.kid === 'string' ? `kid ${header.kid}` : 'no kid';
  if (problem?.claim === 'kid' || problem?.claim === 'crit') return { kidCheck: { check: 'kid', ok: false, detail: problem.description }, candidates: [] };
  if (keys.keys === undefined) return { kidCheck: { check: 'kid', ok: null, detail: `${kid}: not checked: keys unreachable` }, candidates: [] };
  const usable = keys.keys.filter((key) => key.key !== undefined);
  const skipped = keys.keys.filter((key) => key.unusable !== undefined).map((key) => `${describeKey(key.jwk)} (${key.unusable})`);
  const skippedNote = skipped.length > 0 ? `; not loaded: ${skipped.join(', ')}` : '';
  const set = new PinnedKeySet(usable.map((key, index) => ({ id: String(index), jwk: key.jwk as { kty: string }, key: key.key! })));
  let candidates: readonly CandidateKey[] = [];
  try {
    candidates = typeof header.alg === 'string' ? set.candidates(header.alg, typeof header.kid === 'string' ? header.kid : undefined) : [];
  } catch {
    // ERR_TOKEN_KEY_NOT_FOUND: nothing in the set fits.
  }
  if (candidates.length === 0) {
    const held = usable.map((key) => describeKey(key.jwk)).join(', ') || 'no usable key';
    const ok = algAllowed ? false : null;
    return { kidCheck: { check: 'kid', ok, detail: `${kid}: no key of the set fits ${String(header.alg)} and this kid (the set: ${held}${skippedNote})` }, candidates };
  }
  const names = candidates.map((candidate) => `key #${Number(candidate.id) + 1} (${keyType(usable[Number(candidate.id)]!.jwk)})`).join(', ');
  return { kidCheck: { check: 'kid', ok: true, detail: `${kid} → ${names} of the ${usable.length} usable in the set${skippedNote}` }, candidates };
}

function keyType(jwk: Record<string, unknown>): string {
  return [jwk.kty, jwk.crv, jwk.alg].filter((value) => typeof value === 'string').join(' ');
}

function describeKey(jwk: Record<string, unknown>): string {
  return `${typeof jwk.kid === 'string' ? `kid ${jwk.kid}` : 'no kid'} (${keyType(jwk)})`;
}

/** The signature, with core's primitive, against the keys core's selection chose. */
async function signatureCheck(parsed: ParsedJws, keys: Keys, candidates: readonly CandidateKey[]): Promise<Check> {
  if (keys.keys === undefined) return { check: 'signature', ok: null, detail: `not checked: keys unreachable (${keys.unreachable})` };
  if (candidates.length === 0) return { check: 'signature', ok: null, detail: 'not checked: no key of the set fits the token' };
  const alg = parsed.header.alg as string;
  for (const candidate of candidates) {
    if (await verifySignature(alg, candidate.key, parsed.signingInput, parsed.signature)) {
      const index = Number(candidate.id);
      return { check: 'signature', ok: true, detail: `verifies with key #${index + 1} of the set (${alg})` };
    }
  }
  return { check: 'signature', ok: false, detail: `does not verify with the ${candidates.length === 1 ? 'key' : `${candidates.length} keys`} that fit (${alg}): altered, or signed by another key` };
}

/**
 * Every claim core's validator refuses, not only the first: after each refusal that claim is given a
 * value that passes and the validator runs again (at most once per claim). The refusals are core's own.
 */
function claimFailures(payload: Record<string, unknown>, rules: ResolvedIssuer, now: number): { failures: Map<string, ScopeguardError>; stoppedAt: string | undefined } {
  const failures = new Map<string, ScopeguardError>();
  const probe: Record<string, unknown> = { ...payload };
  const passing: Record<string, unknown> = {
    iss: rules.issuers[0],
    aud: rules.audiences[0],
    exp: now + 3600,
    nbf: undefined,
    iat: now,
    sub: 'sub',
    jti: 'jti',
    token_use: rules.profile.tokenUse,
  };
  for (;;) {
    try {
      checkClaims(probe, rules, now);
      return { failures, stoppedAt: undefined };
    } catch (error) {
      const claim = error instanceof InvalidTokenError ? (error.claim ?? 'claims') : 'claims';
      const repeated = failures.has(claim);
      if (!repeated) failures.set(claim, error as ScopeguardError);
      // A claim no value can fix here (a client id outside --client-ids): the rest is not known.
      if (repeated || !Object.hasOwn(passing, claim)) return { failures, stoppedAt: claim };
      if (passing[claim] === undefined) delete probe[claim];
      else probe[claim] = passing[claim];
    }
  }
}

function claimChecks(payload: Record<string, unknown>, rules: ResolvedIssuer, now: number): Check[] {
  const { failures, stoppedAt } = claimFailures(payload, rules, now);
  const line = (claim: string, value: string): Check => {
    const failure = failures.get(claim);
    if (failure) return { check: claim, ok: false, detail: `${value}: ${explained(failure)}` };
    if (stoppedAt !== undefined) return { check: claim, ok: null, detail: `${value}: not checked (validation stopped at ${stoppedAt})` };
    return { check: claim, ok: true, detail: value };
  };
  const checks: Check[] = [
    line('iss', `${JSON.stringify(payload.iss)} (trusted: ${rules.issuers.join(', ')})`),
    line('aud', `${JSON.stringify(payload.aud)} (this API: ${rules.audiences.join(', ')})`),
  ];
  for (const claim of TIME_CLAIMS) {
    const value = payload[claim];
    checks.push(line(claim, typeof value === 'number' ? `${relative(value, now)} (${timestamp(value)})` : value === undefined ? 'absent' : JSON.stringify(value)));
  }
  // Claims the lines above do not cover: strict mode's required ones, token_use, client_id, Cognito's scope.
  for (const [claim, failure] of failures) {
    if (claim !== 'iss' && claim !== 'aud' && !(TIME_CLAIMS as readonly string[]).includes(claim)) checks.push({ check: claim, ok: false, detail: explained(failure) });
  }
  return checks;
}

/** Client id, machine-token detection under each preset, scopes, the intersection and the route's requirement: core's readings. */
async function principalChecks(payload: Record<string, unknown>, rules: ResolvedIssuer, settings: Settings): Promise<Check[]> {
  const { profile } = rules;
  // The engine's own reading of the token's facts (client id, machine or user), and its refusal. It
  // freezes the payload (iteratively: any depth), as the engine does with verified claims.
  const { clientId, isClientCredentials: machine } = tokenFacts(payload, profile, false);
  const kind = machine ? 'a machine (client-credentials) token' : 'a user token';
  const checks: Check[] = [];
  const clientOk = refusalOf(() => tokenFacts(payload, profile, rules.requireClientCredentials)) === undefined;
  checks.push({
    check: 'client',
    ok: clientOk,
    detail: `${clientId ?? 'no client id'}, ${kind} under ${settings.preset}${clientOk ? '' : ': refused, --require-client-credentials'}`,
  });
  const others = (Object.keys(PRESETS) as PresetName[])
    .filter((name) => name !== settings.preset)
    .map((name) => {
      const facts = tokenFacts(payload, PRESETS[name], false);
      return `${name}: ${facts.clientId ?? 'no client id'}, ${facts.isClientCredentials ? 'machine' : 'user'}`;
    });
  checks.push({ check: 'presets', ok: null, detail: others.join(' · ') });

  const scopes = scopesFromClaims(payload, profile.scopeClaims, profile.scopePrefixes);
  const from = profile.scopeClaims.map((claim) => (typeof claim === 'string' ? claim : claim.join('.'))).join(', ');
  checks.push({ check: 'scopes', ok: null, detail: `${scopes.join(' ') || '(none)'} (from ${from})` });

  let effective = scopes;
  if (settings.permissions === undefined) {
    checks.push({ check: 'permissions', ok: null, detail: "no --permissions: the token's scopes count as they are (no intersection)" });
  } else {
    // The map as the engine's permission source answers it: `undefined` for a client it does not name.
    const held = clientId === undefined ? undefined : await permissionResolverOf(settings.permissions)({ clientId, issuer: String(payload.iss), subject: undefined, claims: payload });
    if (!(held instanceof Set)) {
      effective = [];
      checks.push({ check: 'permissions', ok: false, detail: `${clientId ?? 'no client id'} is not in ${settings.permissionsFile}: an unknown service user (403)` });
    } else {
      effective = effectivePermissions(scopes, held as ReadonlySet<string>, rules.scopeMap);
      const dropped = scopes.filter((scope) => !effective.includes(scope));
      checks.push({
        check: 'permissions',
        ok: true,
        detail: `${clientId} holds ${[...held].join(' ') || '(nothing)'}; effective (scopes ∩ held): ${effective.join(' ') || '(none)'}${dropped.length ? `; not held: ${dropped.join(' ')}` : ''}`,
      });
    }
  }

  if (settings.requirements.length === 0) checks.push({ check: 'requirement', ok: null, detail: 'none given (--require, --require-any): any valid token of a known client' });
  for (const requirement of settings.requirements) {
    const met = meetsRequirement(effective, requirement);
    const missing = requirement.scopes.filter((scope) => !effective.includes(scope));
    const what = requirement.mode === 'all' ? `all of ${requirement.scopes.join(' ')}` : `one of ${requirement.scopes.join(' ')}`;
    checks.push({ check: 'requirement', ok: met, detail: met ? `${what}: met` : `${what}: missing ${missing.join(' ')}` });
  }
  return checks;
}

function answerCheck(principal: Principal | undefined, refusal: ScopeguardError | undefined): Check {
  if (principal) return { check: 'answer', ok: true, detail: `200: admitted, client ${principal.clientId ?? '(none)'} with ${principal.permissions.join(' ') || 'no permissions'}` };
  const error = refusal!;
  return { check: 'answer', ok: false, detail: `${error.status} ${error.error ?? '(no error code)'} (${error.code}): ${explained(error)}` };
}

/** A refusal as the operator reads it: the client's description, then what the token said against the options. */
function explained(error: ScopeguardError): string {
  return error.detail === undefined ? error.description : `${error.description}: ${error.detail}`;
}

function relative(seconds: number, now: number): string {
  const span = duration(Math.abs(seconds - now));
  return seconds >= now ? `in ${span}` : `${span} ago`;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function timestamp(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}

const MARK = { true: '✓', false: '✗', null: '·' } as const;

function render(report: { notice: string; network: string; checks: readonly Check[]; header: unknown; claims: unknown }): string {
  const width = Math.max(...report.checks.map((check) => check.check.length));
  // Details quote the token's header and claims, the key set and errors: no control character reaches the terminal.
  const lines = report.checks.map((check) => `${MARK[`${check.ok}`]} ${check.check.padEnd(width)}  ${printable(check.detail)}`);
  const decoded = report.header === undefined ? [] : ['', `header  ${printableJson(report.header)}`, `claims  ${printableJson(report.claims, 2).replace(/\n/g, '\n        ')}`];
  // The network line names URLs a discovery document gave: the server's words too.
  return [`note: ${printable(report.notice)}`, `network: ${printable(report.network)}`, '', ...lines, ...decoded, ''].join('\n');
}
