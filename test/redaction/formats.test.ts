import { describe, expect, it } from 'vitest';
import { createRedactor, redactText } from '../../src/index.js';
import {
  ALNUM,
  B64URL,
  BASE64,
  cardNumber,
  DIGITS,
  githubToken,
  HEX,
  HEX_LOWER,
  LOWER,
  randomFrom,
  rng,
  UPPER,
} from './generate.js';

/*
 * Every provider format, generated from its public definition, in every
 * context a secret meets in logs and prompts; and near-misses that must stay.
 */

const apiKeysOnly = createRedactor({ categories: ['api_key'] });
const everything = createRedactor();
const MARK = '[REDACTED:api_key]';

// [provider, prefix, alphabet, generated body length, shortest body, longest body]
type Spec = readonly [string, string, string, number, number, number];
const WORDISH = `${ALNUM}_`;
const SPECS: readonly Spec[] = [
  ['Stripe secret', 'sk_live_', ALNUM, 99, 16, 247],
  ['Stripe test', 'sk_test_', ALNUM, 24, 16, 247],
  ['Stripe restricted', 'rk_live_', ALNUM, 99, 16, 247],
  ['Stripe webhook', 'whsec_', ALNUM, 32, 32, 64],
  ['Google API key', 'AIza', B64URL, 35, 35, 35],
  ['Google OAuth secret', 'GOCSPX-', B64URL, 28, 28, 28],
  ['Google access token', 'ya29.', B64URL, 150, 20, 2048],
  ['GitHub fine-grained', 'github_pat_', WORDISH, 82, 22, 244],
  ['GitHub long server-to-server', 'ghs_', WORDISH, 120, 30, 251],
  ['GitHub long user-to-server', 'ghu_', WORDISH, 90, 30, 251],
  ['GitLab PAT', 'glpat-', B64URL, 20, 20, 250],
  ['GitLab deploy', 'gldt-', B64URL, 20, 20, 250],
  ['GitLab runner', 'glrt-', B64URL, 26, 20, 250],
  ['GitLab trigger', 'glptt-', B64URL, 40, 20, 250],
  ['npm', 'npm_', ALNUM, 36, 36, 36],
  ['PyPI', 'pypi-Ag', B64URL, 150, 50, 512],
  ['Slack app token', 'xapp-', `${ALNUM}-`, 90, 30, 255],
  ['Hugging Face org', 'api_org_', `${UPPER}${LOWER}`, 34, 30, 40],
  ['DigitalOcean PAT', 'dop_v1_', HEX_LOWER, 64, 64, 64],
  ['DigitalOcean OAuth', 'doo_v1_', HEX_LOWER, 64, 64, 64],
  ['Shopify access', 'shpat_', HEX, 32, 32, 32],
  ['Shopify shared secret', 'shpss_', HEX, 32, 32, 32],
  ['Mailgun', 'key-', HEX_LOWER, 32, 32, 32],
  ['Doppler personal', 'dp.pt.', ALNUM, 43, 40, 44],
  ['Linear', 'lin_api_', ALNUM, 40, 40, 40],
  ['Databricks', 'dapi', HEX_LOWER, 32, 32, 32],
  ['Atlassian', 'ATATT3', `${B64URL}=`, 186, 150, 300],
  ['Grafana Cloud', 'glc_', BASE64.replace('/', ''), 120, 32, 400],
  ['New Relic', 'NRAK-', `${UPPER}${DIGITS}`, 27, 27, 27],
  ['Sentry user', 'sntryu_', HEX_LOWER, 64, 64, 64],
  ['Vault', 'hvs.', B64URL, 95, 24, 512],
  ['age', 'AGE-SECRET-KEY-1', `${UPPER}${DIGITS}`, 58, 58, 58],
  ['Notion', 'secret_', ALNUM, 43, 43, 43],
  ['Square', 'sq0atp-', B64URL, 22, 22, 22],
  ['Groq', 'gsk_', ALNUM, 52, 52, 52],
  ['Replicate', 'r8_', ALNUM, 37, 37, 37],
  ['Perplexity', 'pplx-', ALNUM, 48, 40, 64],
  ['xAI', 'xai-', ALNUM, 80, 70, 90],
  ['Pulumi', 'pul-', HEX_LOWER, 40, 40, 40],
  ['Supabase', 'sbp_', HEX_LOWER, 40, 40, 40],
  ['Figma', 'figd_', B64URL, 40, 40, 50],
  ['JFrog', 'AKCp', ALNUM, 69, 69, 69],
  ['bulwark', 'bwk_', B64URL, 40, 16, 512],
];

const random = rng(20240501);

/** [provider, secret, the output it must become in a context where it stands alone] */
type Case = readonly [string, string, string];
const cases: Case[] = SPECS.map(([name, prefix, alphabet, length]) => [
  name,
  prefix + randomFrom(random, alphabet, length),
  MARK,
]);
const openAiBody = (n: number): string => randomFrom(random, B64URL, n);
const awsId = (prefix: string): string => prefix + randomFrom(random, `${UPPER}${DIGITS}`, 16);
const hexBody = (n: number): string => randomFrom(random, HEX_LOWER, n);
cases.push(
  ['OpenAI project', `sk-proj-${openAiBody(156)}`, MARK],
  ['OpenAI service account', `sk-svcacct-${openAiBody(140)}`, MARK],
  ['Anthropic', `sk-ant-api03-${openAiBody(95)}`, MARK],
  ['OpenRouter', `sk-or-v1-${hexBody(64)}`, MARK],
  ['GitHub classic (CRC32 suffix)', githubToken(random, 'ghp_'), MARK],
  ['GitHub OAuth (CRC32 suffix)', githubToken(random, 'gho_'), MARK],
  ['GitHub refresh (CRC32 suffix)', githubToken(random, 'ghr_'), MARK],
  ...['AKIA', 'ASIA', 'ABIA', 'ACCA', 'AGPA', 'AIDA', 'AIPA', 'ANPA', 'ANVA', 'AROA', 'ASCA'].map(
    (prefix): Case => [`AWS ${prefix}`, awsId(prefix), MARK],
  ),
  ['Hugging Face user', `hf_${randomFrom(random, UPPER + LOWER, 34)}`, MARK],
  [
    'Slack bot',
    `xoxb-${randomFrom(random, DIGITS, 12)}-${randomFrom(random, DIGITS, 13)}-${randomFrom(random, ALNUM, 24)}`,
    MARK,
  ],
  [
    'Slack user',
    `xoxp-${randomFrom(random, DIGITS, 12)}-${randomFrom(random, DIGITS, 12)}-${randomFrom(random, DIGITS, 13)}-${hexBody(32)}`,
    MARK,
  ],
  ['Slack refresh (xoxe-)', `xoxe-1-${randomFrom(random, ALNUM, 140)}`, MARK],
  ['Slack rotated (xoxe.xoxp-)', `xoxe.xoxp-1-${randomFrom(random, ALNUM, 140)}`, MARK],
  ['SendGrid', `SG.${randomFrom(random, B64URL, 22)}.${randomFrom(random, B64URL, 43)}`, MARK],
  ['Postman', `PMAK-${hexBody(24)}-${hexBody(34)}`, MARK],
  ['Brevo', `xkeysib-${hexBody(64)}-${randomFrom(random, ALNUM, 16)}`, MARK],
  ['Twilio API key SID', `SK${hexBody(32)}`, MARK],
  ['Twilio account SID', `AC${hexBody(32)}`, MARK],
  ['Mailchimp', `${hexBody(32)}-us${String(1 + Math.floor(random() * 20))}`, MARK],
  [
    'Discord bot',
    `M${randomFrom(random, ALNUM, 25)}.${randomFrom(random, B64URL, 6)}.${randomFrom(random, B64URL, 38)}`,
    MARK,
  ],
  ['Telegram bot', `${randomFrom(random, DIGITS, 10)}:AA${randomFrom(random, B64URL, 33)}`, MARK],
  [
    'Entra client secret',
    `${randomFrom(random, ALNUM, 3)}8Q~${randomFrom(random, `${ALNUM}_~.-`, 33).replace(/[-.~]$/, 'x')}`,
    MARK,
  ],
  [
    'Slack webhook',
    `https://hooks.slack.com/services/T${randomFrom(random, UPPER + DIGITS, 10)}/B${randomFrom(random, UPPER + DIGITS, 10)}/${randomFrom(random, ALNUM, 24)}`,
    `https://hooks.slack.com/services/${MARK}`,
  ],
  [
    'Discord webhook',
    `https://discord.com/api/webhooks/${randomFrom(random, DIGITS, 18)}/${randomFrom(random, B64URL, 68)}`,
    `https://discord.com/api/webhooks/${MARK}`,
  ],
);

// [context, wrap]: the same secret where logs and prompts put it.
const CONTEXTS: readonly [string, (secret: string) => string][] = [
  ['alone', (x) => x],
  ['log line', (x) => `2024-05-01T12:00:00Z ERROR upstream rejected credential ${x} (status 401)`],
  ['JSON value', (x) => `{"value":"${x}","n":1}`],
  ['URL query', (x) => `GET /callback?state=abc&value=${x}&next=1 HTTP/1.1`],
  ['quoted', (x) => `use '${x}' here`],
  ['line start', (x) => `${x} was pasted\nnext line`],
  ['line end', (x) => `first line\nthe value is ${x}\n`],
];

describe('api_key: every provider format in every context', () => {
  const table = cases.flatMap(([name, secret, out]) =>
    CONTEXTS.map(([context, wrap]) => [name, context, wrap(secret), wrap(out)] as const),
  );

  it.each(table)('%s, %s', (_name, _context, input, expected) => {
    expect(apiKeysOnly.text(input)).toBe(expected);
    expect(everything.text(input)).toBe(expected);
  });

  it('redacts a Telegram token inside a bot API URL', () => {
    const token = `${randomFrom(random, DIGITS, 9)}:AA${randomFrom(random, B64URL, 33)}`;
    expect(redactText(`GET https://api.telegram.org/bot${token}/getMe`)).toBe(
      `GET https://api.telegram.org/${MARK}/getMe`,
    );
  });

  it('redacts an Azure storage AccountKey in a connection string', () => {
    const key = `${randomFrom(random, BASE64, 86)}==`;
    const text = `DefaultEndpointsProtocol=https;AccountName=fake;AccountKey=${key};EndpointSuffix=core.windows.net`;
    expect(redactText(text)).toBe(
      'DefaultEndpointsProtocol=https;AccountName=fake;AccountKey=[REDACTED];EndpointSuffix=core.windows.net',
    );
  });
});

describe('api_key: near-misses stay intact', () => {
  const shortOnes = SPECS.map(([name, prefix, alphabet, , shortest]) => [
    `${name} one character short`,
    prefix + randomFrom(random, alphabet, shortest - 1),
  ]);
  const longOnes = SPECS.filter(([, , , , shortest, longest]) => shortest === longest).map(
    ([name, prefix, alphabet, length]) => [
      `${name} one character long`,
      prefix + randomFrom(random, alphabet, length + 1),
    ],
  );
  const wrongAlphabet = SPECS.filter(([, , alphabet]) => !alphabet.includes('z')).map(
    ([name, prefix, alphabet, length]) => [
      `${name} outside its alphabet`,
      `${prefix}${randomFrom(random, alphabet, length - 1)}z`,
    ],
  );
  const identifiers: [string, string][] = [
    ['identifier after hf_', 'hf_requiredCharacteristicsOfTheModel'],
    ['long identifier after hf_', 'hf_requiredCharacteristicsOfTheModelAndMore'],
    ['xoxo- in a URL path', 'https://example.com/blog/xoxo-gossip-girl-season-2-episode-10'],
    ['too-short Slack token', 'xoxb-12345-abcd234'],
    ['AWS-like word', 'AKIA1234'],
    ['sk- words', 'pip install sk-learn and sk-learn-compatible-estimator-wrapper'],
    ['release note', 'sk-2024-10-01-release-notes-v2-final'],
    ['key- word', 'the key-value store and key-0123 index'],
    ['UUID', '550e8400-e29b-41d4-a716-446655440000'],
    ['git SHA', 'commit 3f786850e387550fdab836ed7e6dc881de23001b'],
    ['SHA-256', 'sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ['version strings', 'node v20.20.2, express@4.21.0, 2.0.0-beta.1'],
    ['13-digit timestamp', 'at 1716912345678 ms'],
    ['Mailchimp-like without hex', 'us-east-1 and data-us1'],
    ['twilio-like upper hex', `SK${'0123456789ABCDEF'.repeat(2)}`],
    ['dotted key word', 'dp.pt.short'],
  ];

  it.each([...shortOnes, ...longOnes, ...wrongAlphabet, ...identifiers])(
    '%s: %s',
    (_name, input) => {
      expect(apiKeysOnly.text(input)).toBe(input);
    },
  );

  it('leaves random base64 image data alone', () => {
    const image = `data:image/png;base64,${randomFrom(rng(7), BASE64, 4096)}==`;
    expect(everything.text(image)).toBe(image);
  });
});

describe('card: every issuer range and length that passes Luhn', () => {
  // [issuer, prefix, lengths]
  const ISSUERS: [string, string, number[]][] = [
    ['Visa', '4', [13, 16, 19]],
    ['Mastercard', '51', [16]],
    ['Mastercard 2-series', '2720', [16]],
    ['Amex', '37', [15]],
    ['Diners', '300', [14]],
    ['Discover', '6011', [16, 19]],
    ['JCB', '3530', [16]],
    ['UnionPay 62', '62', [16, 19]],
    ['UnionPay 81', '81', [16, 17, 18, 19]],
    ['Maestro', '50', [12, 13, 19]],
    ['UATP', '1', [15]],
    ['Mir', '2202', [16]],
    ['RuPay', '60', [16]],
    ['Troy', '9792', [16]],
  ];
  const cardRandom = rng(99);
  const table = ISSUERS.flatMap(([issuer, prefix, lengths]) =>
    lengths.map((length) => [issuer, length, cardNumber(cardRandom, prefix, length)] as const),
  );
  const only = createRedactor({ categories: ['card'] });

  it.each(table)('%s, %i digits', (_issuer, _length, number) => {
    expect(only.text(`card ${number} exp`)).toBe('card [REDACTED:card] exp');
    expect(only.text(`"${number.replace(/(\d{4})(?=\d)/g, '$1 ')}"`)).toBe('"[REDACTED:card]"');
    expect(only.text(number.replace(/(\d{4})(?=\d)/g, '$1-'))).toBe('[REDACTED:card]');
  });

  it.each([
    ['Luhn off by one', `4${'1'.repeat(14)}2`],
    ['13-digit millisecond timestamp', '1716912345678'],
    ['16-digit microsecond timestamp', '1716912345678901'],
    ['UATP prefix at 16 digits', cardNumber(rng(3), '1', 16)],
    ['no issuer range (7)', cardNumber(rng(4), '7', 16)],
    ['Mastercard length off', cardNumber(rng(5), '51', 15)],
    ['order id', 'order 1234567890123452'],
    ['too long', '41111111111111111111111'],
  ])('%s stays', (_name, input) => {
    expect(only.text(input)).toBe(input);
  });
});

describe('ip: IPv6 in every compressed form', () => {
  const only = createRedactor({ categories: ['ip'] });
  it.each([
    'fe80::',
    '2002::',
    '1::',
    '::a',
    '::ffff:10.0.0.1',
    'fe80::1',
    '2001:db8::8a2e:370:7334',
    '2001:db8:0:0:1:0:0:1',
    '2001:0db8:0000:0000:0000:ff00:0042:8329',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
  ])('%s', (address) => {
    expect(only.text(`peer ${address} gone`)).toBe('peer [REDACTED:ip] gone');
    expect(only.text(`[${address}]:443`)).toBe('[[REDACTED:ip]]:443');
  });

  it.each([
    'loopback ::1',
    'unspecified ::',
    'std::vector and Foo::bar',
    'at 12:34:56',
    'mac 00:1A:2B:3C:4D:5E',
    'a::b::c',
  ])('%s stays', (input) => {
    expect(only.text(input)).toBe(input);
  });
});

describe('jwt: signed, unsigned and encrypted compact forms', () => {
  const only = createRedactor({ categories: ['jwt'] });
  const part = (n: number): string => randomFrom(rng(n), B64URL, n);
  const header = `eyJ${part(30)}`;
  const payload = `eyJ${part(60)}`;
  it.each([
    ['three parts', `${header}.${payload}.${part(43)}`],
    ['alg none', `${header}.${payload}.`],
    ['two parts (unsigned)', `${header}.${payload}`],
    ['JWE, five parts', `${header}.${part(342)}.${part(22)}.${part(100)}.${part(22)}`],
    ['JWE, direct (empty key)', `${header}..${part(22)}.${part(100)}.${part(22)}`],
  ])('%s', (_name, token) => {
    expect(only.text(`token ${token} end`)).toBe('token [REDACTED:jwt] end');
    expect(only.text(`{"t":"${token}"}`)).toBe('{"t":"[REDACTED:jwt]"}');
  });

  it.each(['eyJ.eyJ.eyJ', 'eyJhbGciOiJIUzI1NiJ9 alone', `${header}.notjson`])(
    '%s stays',
    (input) => {
      expect(only.text(input)).toBe(input);
    },
  );
});

describe('private_key: PEM, OpenSSH, SSH2 and PuTTY', () => {
  const only = createRedactor({ categories: ['private_key'] });
  const body = (seed: number): string =>
    Array.from({ length: 6 }, (_, k) => randomFrom(rng(seed + k), BASE64, 64)).join('\n');
  const pem = (label: string): string =>
    `-----BEGIN ${label}-----\n${body(1)}\n-----END ${label}-----`;
  it.each([
    ['RSA', pem('RSA PRIVATE KEY')],
    ['PKCS#8', pem('PRIVATE KEY')],
    ['encrypted PKCS#8', pem('ENCRYPTED PRIVATE KEY')],
    ['EC', pem('EC PRIVATE KEY')],
    ['OpenSSH', pem('OPENSSH PRIVATE KEY')],
    [
      'legacy encrypted PEM',
      `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,${'A1'.repeat(16)}\n\n${body(2)}\n-----END RSA PRIVATE KEY-----`,
    ],
    [
      'SSH2',
      `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: rsa-key-fake\n${body(3)}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----`,
    ],
    [
      'PuTTY',
      `PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-fake\nPublic-Lines: 2\n${body(4)}\nPrivate-Lines: 1\n${body(5)}\nPrivate-MAC: ${'ab'.repeat(32)}`,
    ],
  ])('%s', (_name, block) => {
    expect(only.text(`key:\n${block}\nafter`)).toBe('key:\n[REDACTED:private_key]\nafter');
    expect(only.text(JSON.stringify({ key: block }))).toBe('{"key":"[REDACTED:private_key]"}');
  });

  it.each([
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
    '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----',
    '---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----',
  ])('%j stays', (input) => {
    expect(only.text(input)).toBe(input);
  });
});

describe('assignment: the forms keyword detectors know', () => {
  const only = createRedactor({ categories: ['assignment'] });
  it.each([
    ['Go :=', 'password := "FAKE value"', 'password := "[REDACTED]"'],
    ['Ruby =>', "{ :secret => 'FAKE value' }", "{ :secret => '[REDACTED]' }"],
    ['PHP =>', "'api_key' => 'FAKE-123',", "'api_key' => '[REDACTED]',"],
    ['XML element', '<password>FAKE value</password>', '<password>[REDACTED]</password>'],
    ['HTML-ish element', '<api_key>FAKE-123</api_key> next', '<api_key>[REDACTED]</api_key> next'],
    ['quoted with spaces', 'token = "FAKE with spaces"', 'token = "[REDACTED]"'],
    ['quoted with braces', "secret: '{FAKE}{braces}'", "secret: '[REDACTED]'"],
    ['C# verbatim', 'var password = @"FAKE verbatim";', 'var password = @"[REDACTED]";'],
    ['escaped JSON', '{\\"password\\": \\"FAKE value\\"}', '{\\"password\\": \\"[REDACTED]\\"}'],
    ['Authorization, any scheme', 'Authorization: SSWS FAKE00abc', 'Authorization: [REDACTED]'],
    [
      'Authorization, ApiKey scheme',
      'authorization=ApiKey FAKEkey123 next',
      'authorization=[REDACTED] next',
    ],
    [
      'Authorization, Digest params',
      'Authorization: Digest username="ann", response="FAKE"\nnext',
      'Authorization: [REDACTED]\nnext',
    ],
    [
      'Authorization, AWS SigV4',
      'Authorization: AWS4-HMAC-SHA256 Credential=FAKE/20240501/us-east-1/s3/aws4_request, Signature=FAKE',
      'Authorization: [REDACTED]',
    ],
  ])('%s', (_name, input, expected) => {
    expect(only.text(input)).toBe(expected);
  });
});
