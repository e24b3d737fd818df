/** A tiny HTTP client for tests: raw header lists (duplicate headers allowed), JSON bodies. */
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Header names and values as sent on the wire. */
  rawHeaders: string[];
  body: any;
  text: string;
}

/** Sends a request; `headers` is a flat [name, value, name, value…] list or an object. */
export function send(
  url: string,
  options: { method?: string; headers?: string[] | Record<string, string>; body?: string } = {},
): Promise<TestResponse> {
  // Node sends an array value as repeated header lines, which is how duplicates are made.
  let headers: Record<string, string | string[]> = {};
  if (Array.isArray(options.headers)) {
    for (let i = 0; i < options.headers.length; i += 2) {
      const name = options.headers[i]!.toLowerCase();
      const value = options.headers[i + 1]!;
      const existing = headers[name];
      headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
  } else headers = { ...options.headers };
  // Frame bodies explicitly: Node does not chunk GET bodies by default.
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, text });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Listens on 127.0.0.1:0 and returns the base URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes a server and its idle keep-alive connections. */
export function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
