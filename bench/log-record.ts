/**
 * A realistic 2 KB request-log record (1845 bytes serialised): request and
 * response headers with `authorization`, `cookie` and `set-cookie`, a body with
 * a `password`, an LLM prompt, user and upstream details. The redaction benches
 * share it.
 */
// Fake values only: a bench file is still a file in the repository.
export const record = {
  level: 30,
  time: 1716912345678,
  pid: 4242,
  hostname: 'api-7d9f8c6b5-x2x9q',
  reqId: '9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab',
  msg: 'request completed',
  req: {
    method: 'POST',
    url: '/v1/complete?stream=false',
    headers: {
      host: 'api.example.com',
      'user-agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
      accept: 'application/json',
      'accept-encoding': 'gzip, deflate, br',
      'accept-language': 'en-GB,en;q=0.9',
      'content-type': 'application/json',
      'content-length': '512',
      authorization: 'Bearer FAKEtest-0123456789abcdefFAKEtest',
      cookie: 'session=FAKEsession0123456789; theme=dark; consent=yes',
      'x-request-id': '9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab',
      'x-forwarded-for': '203.0.113.7, 10.0.0.2',
      'x-forwarded-proto': 'https',
    },
    remoteAddress: '10.0.0.2',
    remotePort: 51234,
    body: {
      model: 'example-model-large',
      max_tokens: 512,
      temperature: 0.2,
      messages: [
        { role: 'system', content: 'You are a careful assistant that answers in British English.' },
        {
          role: 'user',
          content:
            'Summarise the incident report for the on-call engineer: the nightly batch job failed twice after the storage migration, retries exhausted, and the queue backed up for forty minutes.',
        },
      ],
      password: 'FAKEpassword',
    },
  },
  res: {
    statusCode: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': '734',
      'set-cookie': ['session=FAKEsession0123456789; Path=/; HttpOnly; Secure; SameSite=Strict'],
      'x-request-id': '9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab',
      'cache-control': 'no-store',
      'strict-transport-security': 'max-age=31536000; includeSubDomains',
    },
  },
  user: { id: 'usr_01HX9Z7K3M', roles: ['member', 'beta'], plan: 'team' },
  upstream: {
    provider: 'example',
    latencyMs: 812,
    attempts: 1,
    tokens: { prompt: 96, completion: 211, total: 307 },
    region: 'eu-west-1',
  },
  responseTime: 845.2,
  tags: ['api', 'complete', 'v1', 'stream:false'],
};
