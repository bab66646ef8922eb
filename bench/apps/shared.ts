import type { Request, Response } from 'express';

/** Settings every bench app shares, so they do the same work. */
export const BENCH_SECRET = 'bench-only-FAKE-secret-0123456789abcdef0123';
export const BENCH_ISSUER = 'bulwark-bench';
export const BENCH_AUDIENCE = 'bulwark-bench-api';
export const BENCH_ORIGIN = 'https://app.example.com';
// The load generator connects to 127.0.0.1 on a port the OS picks.
export const BENCH_HOSTS = ['127.0.0.1:*'];
// High enough that no request is refused: the bench measures the cost of counting.
export const BENCH_LIMIT = 1_000_000_000;
export const BENCH_MAX_BYTES = 102_400;
export const BENCH_BODY = JSON.stringify({ message: 'hello', max_tokens: 256, temperature: 0.7 });

/** The route every app serves: the JSON body back. */
export function echo(req: Request, res: Response): void {
  res.json(req.body);
}
