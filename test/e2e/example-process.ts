import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, vi } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
// A bound, not a measure: several tsx processes starting at once on a busy machine are slow.
const START_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

// An empty secrets folder, so nothing mounted on the test machine leaks in.
const EMPTY_SECRETS = mkdtempSync(join(tmpdir(), 'bulwark-e2e-secrets-'));

/** The example server running as a child process, as `npm run example` starts it. */
export class ExampleProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  url = '';

  private constructor(env: Record<string, string>) {
    // Only what is given: the parent's REDIS_URL, NODE_ENV or secrets must not leak in.
    this.child = spawn(process.execPath, ['--import', 'tsx', 'examples/server.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        SETTINGS_SECRETS_DIR: EMPTY_SECRETS,
        ENVIRONMENT: 'development',
        // bulwark's lowest accepted cost: each login a quarter of the default's work.
        PASSWORD_HASH_COST: '10',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((done) => {
      this.child.once('exit', (code) => {
        done(code);
      });
    });
  }

  /** Starts the server; with `listen` it resolves once the server says it listens. */
  static async start(env: Record<string, string>): Promise<ExampleProcess> {
    const server = new ExampleProcess(env);
    const listening = /listening on (http:\/\/\S+)/;
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => {
        fail(new Error(`example did not start in time:\n${server.stdout}\n${server.stderr}`));
      }, START_TIMEOUT_MS);
      const check = (): void => {
        const match = listening.exec(server.stdout);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          done(match[1]);
        }
      };
      server.child.stdout?.on('data', check);
      void server.exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`example exited with ${String(code)}:\n${server.stdout}\n${server.stderr}`));
      });
    });
    server.url = url;
    return server;
  }

  /** Runs a server expected to refuse to start; resolves with its exit code. */
  static async run(env: Record<string, string>): Promise<ExampleProcess & { code: number | null }> {
    const server = new ExampleProcess(env);
    const timer = setTimeout(() => server.child.kill('SIGKILL'), START_TIMEOUT_MS);
    const code = await server.exited;
    clearTimeout(timer);
    return Object.assign(server, { code });
  }

  /** SIGTERM, then SIGKILL if it has not exited within the bound. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 12_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /**
   * Resolves once `/ready` answers 200: every store answers and seeding is
   * done. Fails after `timeoutMs` (a bound for a loaded machine, not a measure).
   */
  async whenReady(timeoutMs = 60_000): Promise<void> {
    await vi.waitUntil(
      async () => {
        const res = await this.fetch('/ready');
        await res.arrayBuffer();
        return res.status === 200;
      },
      { timeout: timeoutMs, interval: 100 },
    );
  }

  async fetch(
    path: string,
    init: {
      method?: string;
      headers?: Record<string, string>;
      json?: unknown;
      token?: string;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    return fetch(this.url + path, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers,
      ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  }

  /**
   * Sends a request with node:http, which (unlike fetch) sends the path as
   * written and lets a test choose the Host header.
   */
  async raw(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    const { hostname, port } = new URL(this.url);
    return new Promise((done, fail) => {
      const req = request(
        { host: hostname, port, path, method: 'GET', headers, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            done({ status: res.statusCode ?? 0, headers: res.headers, body });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', fail);
      req.end();
    });
  }
}

/** Asserts an RFC 9457 problem with this status and code, and returns its body. */
export async function expectProblem(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body.code).toBe(code);
  return body;
}
