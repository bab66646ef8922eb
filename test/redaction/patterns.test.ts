import { describe, expect, it } from 'vitest';
import { createRedactor, redactText, type RedactionCategory } from '../../src/index.js';
import { FAKE } from './fakes.js';

const only = (category: RedactionCategory) => createRedactor({ categories: [category] });

// [category, input, expected output with only that category on]
const MATCHES: [RedactionCategory, string, string][] = [
  ['email', 'mail ann.smith+tag@example.com now', 'mail [REDACTED:email] now'],
  ['email', '<a.b@sub.example.co.uk>', '<[REDACTED:email]>'],
  ['email', '"ANN_99@EXAMPLE.ORG",', '"[REDACTED:email]",'],
  ['email', 'mailto:ann@example.com.', 'mailto:[REDACTED:email].'],
  ['bearer', `sent Bearer ${FAKE.bearer} ok`, 'sent Bearer [REDACTED:bearer] ok'],
  ['bearer', `bearer ${FAKE.jwt}`, 'bearer [REDACTED:bearer]'],
  ['bearer', `Basic ${FAKE.basic}`, 'Basic [REDACTED:bearer]'],
  ['jwt', `token ${FAKE.jwt} end`, 'token [REDACTED:jwt] end'],
  ['jwt', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJGQUtFIn0.', '[REDACTED:jwt]'],
  ['ip', 'from 203.0.113.7 to 10.0.0.1:8080', 'from [REDACTED:ip] to [REDACTED:ip]:8080'],
  ['ip', 'semver 1.2.3.4 is an address', 'semver [REDACTED:ip] is an address'],
  ['ip', 'range 10.0.0.1-10.0.0.9.', 'range [REDACTED:ip]-[REDACTED:ip].'],
  ['ip', '[2001:db8::1]:443', '[[REDACTED:ip]]:443'],
  ['ip', 'link fe80::1 up', 'link [REDACTED:ip] up'],
  ['ip', 'mapped ::ffff:192.0.2.1', 'mapped [REDACTED:ip]'],
  ['ip', '2001:0db8:0000:0000:0000:ff00:0042:8329', '[REDACTED:ip]'],
  ['ip', 'peer 2001:db8:: gone', 'peer [REDACTED:ip] gone'],
  ['api_key', `key ${FAKE.openai}`, 'key [REDACTED:api_key]'],
  ['api_key', FAKE.openaiProject, '[REDACTED:api_key]'],
  ['api_key', FAKE.anthropic, '[REDACTED:api_key]'],
  ['api_key', `aws=${FAKE.aws};`, 'aws=[REDACTED:api_key];'],
  ['api_key', FAKE.github, '[REDACTED:api_key]'],
  ['api_key', FAKE.githubFineGrained, '[REDACTED:api_key]'],
  ['api_key', FAKE.slack, '[REDACTED:api_key]'],
  ['api_key', FAKE.stripe, '[REDACTED:api_key]'],
  ['api_key', FAKE.stripeRestricted, '[REDACTED:api_key]'],
  ['api_key', FAKE.google, '[REDACTED:api_key]'],
  ['api_key', FAKE.huggingFace, '[REDACTED:api_key]'],
  ['api_key', `X-API-Key ${FAKE.bulwark}`, 'X-API-Key [REDACTED:api_key]'],
  ['private_key', `key:\n${FAKE.pem}\nafter`, 'key:\n[REDACTED:private_key]\nafter'],
  [
    'private_key',
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaFAKEtest\nAAAAtest',
    '[REDACTED:private_key]',
  ],
  [
    'url_credentials',
    'postgres://app:FAKEpass@db.example.com:5432/app',
    'postgres://[REDACTED:url_credentials]@db.example.com:5432/app',
  ],
  [
    'url_credentials',
    'GET https://user:FAKE%40pw@example.com/x',
    'GET https://[REDACTED:url_credentials]@example.com/x',
  ],
  ['card', 'card 4111 1111 1111 1111 exp', 'card [REDACTED:card] exp'],
  ['card', '4111-1111-1111-1111', '[REDACTED:card]'],
  ['card', 'mc 5555555555554444.', 'mc [REDACTED:card].'],
  ['card', 'amex 378282246310005', 'amex [REDACTED:card]'],
  ['card', '4111 1111 1111 1111 2024', '[REDACTED:card] 2024'],
  ['assignment', 'password=FAKEhunter2 user=bob', 'password=[REDACTED] user=bob'],
  [
    'assignment',
    '{"api_key": "FAKE-123", "max_tokens": 100}',
    '{"api_key": "[REDACTED]", "max_tokens": 100}',
  ],
  [
    'assignment',
    'GET /cb?access_token=FAKEtoken&state=1',
    'GET /cb?access_token=[REDACTED]&state=1',
  ],
  ['assignment', 'Authorization: Bearer FAKEtoken123', 'Authorization: [REDACTED]'],
  ['assignment', 'Cookie: sid=FAKE; theme=dark\nnext', 'Cookie: [REDACTED]\nnext'],
  ['assignment', "DB_PASSWORD='FAKE secret'", "DB_PASSWORD='[REDACTED]'"],
  ['assignment', 'x-api-key: FAKEkey', 'x-api-key: [REDACTED]'],
  // The key's last letters sit behind a separator: `sessionid` is a rule.
  ['assignment', 'session_id=FAKEsid42 ok', 'session_id=[REDACTED] ok'],
  ['assignment', 'SESSION-ID: FAKEsid42', 'SESSION-ID: [REDACTED]'],
  // Separators after the key's last letters, or between them, are dropped too.
  ['assignment', 'PASSWORD_=FAKEhunter2', 'PASSWORD_=[REDACTED]'],
  ['assignment', 'passwd.: FAKEhunter2', 'passwd.: [REDACTED]'],
  ['assignment', 'api_key_ = FAKEkey', 'api_key_ = [REDACTED]'],
  ['assignment', 'pi-n=FAKE1234', 'pi-n=[REDACTED]'],
  // `toLowerCase` turns the Kelvin sign into `k`: this scheme word is `token`.
  ['assignment', 'authorization: To\u212Aen FAKEsecret1 next', 'authorization: [REDACTED] next'],
];

// [category, input that must stay unchanged with only that category on]
const NEAR_MISSES: [RedactionCategory, string][] = [
  ['email', 'npm i express@4.21.0'],
  ['email', 'import from @types/node'],
  ['email', 'root@localhost'],
  ['email', 'foo@bar.c'],
  ['email', 'a@b'],
  ['email', 'me@-bad.example.com'],
  ['email', 'ping @channel now'],
  ['bearer', 'the Bearer authentication scheme'],
  ['bearer', 'the bearer of bad news'],
  ['bearer', 'Basic authentication'],
  ['bearer', 'WWW-Authenticate: Bearer realm="api"'],
  ['bearer', 'Bearer abc'],
  ['jwt', 'eyJ.eyJ.eyJ'],
  ['jwt', 'eyJhbGciOiJIUzI1NiJ9 alone'],
  ['jwt', 'keyJar.eyJhbGciOiJIUzI1NiJ9.x'],
  ['ip', 'version v1.2.3 and v1.2.3.4'],
  ['ip', 'oid 1.3.6.1.4.1'],
  ['ip', '1.2.3'],
  ['ip', '256.1.1.1'],
  ['ip', 'at 12:34:56'],
  ['ip', 'mac 00:1A:2B:3C:4D:5E'],
  ['ip', 'loopback ::1'],
  ['ip', 'std::vector and Foo::bar'],
  ['ip', 'uuid 550e8400-e29b-41d4-a716-446655440000'],
  ['ip', 'build 2024.01.02.03'],
  ['api_key', 'pip install sk-learn and sk-learn-compatible-estimator-wrapper'],
  ['api_key', 'sk-2024-10-01-release-notes-v2-final'],
  ['api_key', 'task-FAKEtest0123456789abcdXYZ'],
  ['api_key', 'AKIA1234'],
  ['api_key', 'AKIAIOSFODNN7EXAMPLEX'],
  ['api_key', 'ghp_short'],
  ['api_key', 'xoxo-gossip-girl-season'],
  ['api_key', 'hf_hub_download'],
  ['api_key', 'sk_live_short'],
  ['api_key', 'AIzaShort'],
  ['api_key', 'commit 3f786850e387550fdab836ed7e6dc881de23001b'],
  ['api_key', 'hex deadbeef cafe'],
  ['private_key', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
  ['private_key', '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'],
  ['private_key', '-------------------- section --------------------'],
  ['url_credentials', 'https://example.com/@user'],
  ['url_credentials', 'ssh://git@github.com/org/repo'],
  ['url_credentials', 'user:pass@host without a scheme'],
  ['card', '4111 1111 1111 1112'],
  ['card', 'ts 1716912345678'],
  ['card', 'order 1234567890123452'],
  ['card', '41111111111111111111111'],
  ['card', 'phone +1 555 123 4567'],
  ['assignment', 'max_tokens=100 total_tokens: 200'],
  ['assignment', 'token_type: Bearer'],
  ['assignment', 'password_min_length=12'],
  ['assignment', 'password: null, token: true'],
  ['assignment', 'password=[REDACTED]'],
  ['assignment', 'request_id=9f1c2d3e user_id=42 key=user:42 version=v1.2.3'],
  ['ip', '2024-05-01T12:34:56.789Z took 12.5 ms, v1.2.3'],
  ['card', '2024-05-01T12:34:56.789Z 1716912345678 2024-05-01 2221-000'],
];

describe('redactText: patterns', () => {
  it.each(MATCHES)('%s: %j', (category, input, expected) => {
    expect(only(category).text(input)).toBe(expected);
  });

  it.each(NEAR_MISSES)('%s near miss stays: %j', (category, input) => {
    expect(only(category).text(input)).toBe(input);
  });

  it.each([
    'commit 3f786850e387550fdab836ed7e6dc881de23001b',
    'uuid 550e8400-e29b-41d4-a716-446655440000',
    'version v1.2.3 released 2024-05-01T12:34:56.789Z',
    'pip install sk-learn',
    'short hex 0xdeadbeef',
    'npm i express@4.21.0',
  ])('with every category on, %j stays', (input) => {
    expect(redactText(input)).toBe(input);
  });

  it('redacts every category in one string and counts each', () => {
    const text = [
      'user ann@example.com',
      `auth Bearer ${FAKE.bearer}`,
      `jwt ${FAKE.jwt}`,
      'ip 203.0.113.7',
      `key ${FAKE.aws}`,
      FAKE.pem,
      'db postgres://app:FAKEpass@db.example.com/app',
      'card 4111111111111111',
      'password=FAKE',
    ].join('\n');
    const report = createRedactor().textWithReport(text);
    expect(report.counts).toEqual({
      email: 1,
      bearer: 1,
      jwt: 1,
      ip: 1,
      api_key: 1,
      private_key: 1,
      url_credentials: 1,
      card: 1,
      assignment: 1,
    });
    for (const secret of [FAKE.bearer, FAKE.jwt, FAKE.aws, 'FAKEpass', 'ann@example.com']) {
      expect(report.value).not.toContain(secret);
    }
  });

  it('is idempotent: redacting twice changes nothing more', () => {
    const once = redactText(`password=FAKE Bearer ${FAKE.bearer} ann@example.com 10.0.0.1`);
    expect(redactText(once)).toBe(once);
  });

  it('refuses a non-string', () => {
    expect(() => redactText(42 as unknown as string)).toThrow(TypeError);
  });
});
