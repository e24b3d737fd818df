#!/usr/bin/env node
/**
 * The `scopeguard` bin of @scopeguard/core: `npx scopeguard explain …` and `npx scopeguard token …`.
 * Exit codes: 0 success (the API would admit the token; a token was printed), 1 refused, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './args';
import { explain } from './explain';
import { token } from './token';

const USAGE = `Usage: scopeguard <command> [options]

Commands:
  explain <token|->   why an API guarded by scopeguard would admit or refuse this token, check by check
                      (offline: only the issuer's key set is fetched, and nothing with --jwks)
  token               request a client-credentials token and print it alone on stdout

  scopeguard <command> --help   options of a command
  scopeguard --version          the version of @scopeguard/core

Examples:
  npx scopeguard explain "$TOKEN" --issuer https://auth.example.com/ --audience https://orders.example.com \\
    --permissions permissions.json --require orders.read
  export SCOPEGUARD_CLIENT_SECRET=…
  TOKEN=$(npx scopeguard token --token-endpoint https://auth.example.com/oauth/token --client-id orders-worker)`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'explain':
        return await explain(rest);
      case 'token':
        return await token(rest);
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      case '-v':
      case '--version': {
        // dist/cli/main.js → the package's package.json.
        const { version } = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };
        process.stdout.write(`${version}\n`);
        return 0;
      }
      default:
        throw new UsageError(command === undefined ? 'give a command' : `unknown command ${JSON.stringify(command)}`, USAGE);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`scopeguard: ${error.message}\n\n${error.usage}\n`);
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Unforeseen: say what failed, not the stack (which could hold arguments), and not exit 0.
    process.stderr.write(`scopeguard: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
