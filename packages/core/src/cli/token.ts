/**
 * `scopeguard token`: a client-credentials access token (RFC 6749 §4.4) from a token endpoint, for
 * trying an API by hand. The token alone goes to stdout, so `TOKEN=$(npx scopeguard token …)` works;
 * everything else (expiry, scope, errors) goes to stderr.
 */
import { list, parse, printable, required, text, UsageError } from './args';

export const TOKEN_USAGE = `Usage: scopeguard token --token-endpoint <url> --client-id <id> [options]

Requests an access token with the client credentials grant (RFC 6749 §4.4) and prints it alone on
stdout; expires_in, scope and token_type go to stderr.

  --token-endpoint <url>   the authorization server's token endpoint (required)
  --client-id <id>         the client id (required)
  --client-secret <secret> the client secret; better: set SCOPEGUARD_CLIENT_SECRET, since flags
                           land in shell history and process lists
  --scope "a b"            scopes to ask for (space-delimited)
  --audience <aud>         the audience parameter some servers want (Auth0)
  --resource <uri>         RFC 8707 resource indicator (repeatable)
  --auth basic|post        client_secret_basic (default: HTTP Basic, RFC 6749 §2.3.1) or
                           client_secret_post (credentials in the form body)
  -h, --help               this text

Example:
  export SCOPEGUARD_CLIENT_SECRET=…
  TOKEN=$(npx scopeguard token --token-endpoint https://auth.example.com/oauth/token \\
    --client-id orders-worker --scope "orders.read")

Exit codes: 0 a token was printed, 1 the server refused or could not be reached, 2 usage error.`;

const OPTIONS = {
  'token-endpoint': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  scope: { type: 'string' },
  audience: { type: 'string' },
  resource: { type: 'string', multiple: true },
  auth: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The whole exchange (connecting, sending, reading the answer) must finish within this. */
const TIMEOUT_MS = 10_000;

/**
 * RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined for HTTP Basic
 * (a secret holding `:` or `%` would otherwise be misread). URLSearchParams encodes exactly so.
 */
function formEncoded(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** Runs `scopeguard token`; resolves with the exit code. */
export async function token(argv: readonly string[]): Promise<number> {
  const parsed = parse(argv, OPTIONS, TOKEN_USAGE);
  if (parsed.values.help) {
    process.stdout.write(`${TOKEN_USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`, TOKEN_USAGE);
  const endpoint = required(parsed, 'token-endpoint', TOKEN_USAGE);
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) throw new UsageError('--token-endpoint must be an http(s) URL', TOKEN_USAGE);
  const clientId = required(parsed, 'client-id', TOKEN_USAGE);
  const secret = text(parsed, 'client-secret') ?? process.env.SCOPEGUARD_CLIENT_SECRET;
  if (secret === undefined || secret === '') throw new UsageError('give the client secret in SCOPEGUARD_CLIENT_SECRET (or --client-secret)', TOKEN_USAGE);
  const auth = text(parsed, 'auth') ?? 'basic';
  if (auth !== 'basic' && auth !== 'post') throw new UsageError('--auth must be basic or post', TOKEN_USAGE);

  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const scope = text(parsed, 'scope');
  if (scope !== undefined) form.set('scope', scope);
  const audience = text(parsed, 'audience');
  if (audience !== undefined) form.set('audience', audience);
  for (const resource of list(parsed, 'resource', false)) form.append('resource', resource);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${formEncoded(clientId)}:${formEncoded(secret)}`).toString('base64')}`;
  else {
    form.set('client_id', clientId);
    form.set('client_secret', secret);
  }

  let status: number;
  let body: string;
  try {
    // A redirect is never followed: the form (and its secret) must not be re-posted to another origin.
    const response = await fetch(endpoint, { method: 'POST', headers, body: form, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
    status = response.status;
    body = await response.text();
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : 'could not be reached';
    process.stderr.write(`scopeguard token: ${endpoint} ${reason}\n`);
    return 1;
  }

  const answer = jsonObject(body);
  if (status < 200 || status > 299) {
    // RFC 6749 §5.2: error, error_description; never echo anything else the server sent.
    const error = typeof answer?.error === 'string' ? answer.error : 'no OAuth error in the answer';
    const description = typeof answer?.error_description === 'string' ? `: ${answer.error_description}` : '';
    process.stderr.write(printable(`scopeguard token: ${endpoint} answered HTTP ${status}, ${error}${description}`) + '\n');
    return 1;
  }
  const accessToken = answer?.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    process.stderr.write(`scopeguard token: ${endpoint} answered HTTP ${status} without an access_token\n`);
    return 1;
  }
  // RFC 6749 §5.1: token_type, expires_in and scope (when it differs from the request) are details.
  const details = ['token_type', 'expires_in', 'scope']
    .filter((name) => answer![name] !== undefined)
    .map((name) => `${name}: ${String(answer![name])}`);
  if (details.length > 0) process.stderr.write(`${details.map(printable).join('\n')}\n`);
  process.stdout.write(`${accessToken}\n`);
  return 0;
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
