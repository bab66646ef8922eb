import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis.js';
import { ExampleProcess, expectProblem } from './example-process.js';
import { USER, USER_PASSWORD } from './journey.js';

// The example server's GET /files route against over-long names: a 400 or a
// 404, never a 500 (it was an ENAMETOOLONG 500 with a stack trace).

let server: ExampleProcess;
let token = '';

beforeAll(async () => {
  server = await ExampleProcess.start({ PORT: String(await freePort()) });
  const registered = await server.fetch('/auth/register', {
    json: { username: USER, password: USER_PASSWORD },
  });
  expect(registered.status).toBe(201);
  const login = await server.fetch('/auth/login', {
    json: { username: USER, password: USER_PASSWORD },
  });
  token = ((await login.json()) as { access_token: string }).access_token;
}, 30_000);

afterAll(async () => {
  await server.stop();
});

describe('example GET /files with long names', () => {
  it.each([
    ['256 ASCII characters', 'a'.repeat(256)],
    ['128 two-byte characters', 'é'.repeat(128)],
    ['86 three-byte characters', '€'.repeat(86)],
    ['a long name below a folder', `x/${'a'.repeat(300)}`],
  ])('answers 400 path.traversal for %s', async (_case, name) => {
    const path = '/files/' + name.split('/').map(encodeURIComponent).join('/');
    await expectProblem(await server.fetch(path, { token }), 400, 'path.traversal');
  });

  it.each([
    ['255 ASCII characters', 'a'.repeat(255)],
    ['85 three-byte characters', '€'.repeat(85)],
  ])('answers 404 for a missing file named with %s', async (_case, name) => {
    await expectProblem(
      await server.fetch(`/files/${encodeURIComponent(name)}`, { token }),
      404,
      'resource.not_found',
    );
  });

  it('logged no stack trace', () => {
    expect(server.stderr).not.toContain('ENAMETOOLONG');
    expect(server.stdout).not.toContain('ENAMETOOLONG');
  });
});
