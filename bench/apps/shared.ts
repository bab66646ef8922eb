/** Settings every bench app shares, so they do the same work. */
export const BENCH_SECRET = 'bench-only-FAKE-secret-0123456789abcdef0123';
export const BENCH_ISSUER = 'bulwark-bench';
export const BENCH_AUDIENCE = 'bulwark-bench-api';
export const BENCH_ORIGIN = 'https://app.example.com';
export const BENCH_HOST = '127.0.0.1';
// High enough that no request is refused: the bench measures the cost of counting.
export const BENCH_LIMIT = 1_000_000_000;
export const BENCH_BODY = JSON.stringify({ message: 'hello', max_tokens: 256, temperature: 0.7 });
