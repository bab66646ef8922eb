import {
  ALNUM,
  B64URL,
  BASE64,
  DASH,
  DASHES,
  DIGIT,
  DOTS,
  DOT,
  hasDigitUpperLower,
  HEX,
  is,
  LOWER,
  LOWER_HEX,
  match,
  skip,
  UPPER,
  WORD,
  type Matcher,
  type Outcome,
} from '../text.js';

const B64URL_PAD = B64URL | BASE64;

/**
 * A provider token that is a fixed prefix and a body: `[provider, prefix,
 * body alphabet, shortest body, longest body]`. The token must stand alone: no
 * word character (nor one of its own alphabet) right before or after it, and
 * a body longer than `longest` is some other identifier. Formats as the
 * providers document them, cross-checked against what secret scanners ship.
 */
export type TokenFormat = readonly [
  provider: string,
  prefix: string,
  body: number,
  shortest: number,
  longest: number,
];

export const TOKEN_FORMATS: readonly TokenFormat[] = [
  ['Stripe secret key', 'sk_live_', ALNUM, 16, 247],
  ['Stripe test key', 'sk_test_', ALNUM, 16, 247],
  ['Stripe restricted key', 'rk_live_', ALNUM, 16, 247],
  ['Stripe restricted test key', 'rk_test_', ALNUM, 16, 247],
  ['Stripe webhook secret', 'whsec_', ALNUM, 32, 64],
  ['Google API key', 'AIza', B64URL, 35, 35],
  ['Google OAuth client secret', 'GOCSPX-', B64URL, 28, 28],
  ['Google OAuth access token', 'ya29.', B64URL, 20, 2048],
  ['GitHub personal access token', 'ghp_', WORD, 30, 251],
  ['GitHub OAuth token', 'gho_', WORD, 30, 251],
  ['GitHub user-to-server token', 'ghu_', WORD, 30, 251],
  ['GitHub server-to-server token', 'ghs_', WORD, 30, 251],
  ['GitHub refresh token', 'ghr_', WORD, 30, 251],
  ['GitHub fine-grained token', 'github_pat_', WORD, 22, 244],
  ['GitLab personal access token', 'glpat-', B64URL | DOTS, 20, 250],
  ['GitLab deploy token', 'gldt-', B64URL | DOTS, 20, 250],
  ['GitLab runner token', 'glrt-', B64URL | DOTS, 20, 250],
  ['GitLab CI job token', 'glcbt-', B64URL | DOTS, 20, 250],
  ['GitLab pipeline trigger token', 'glptt-', B64URL | DOTS, 20, 250],
  ['GitLab OAuth application secret', 'gloas-', B64URL | DOTS, 20, 250],
  ['GitLab SCIM token', 'glsoat-', B64URL | DOTS, 20, 250],
  ['GitLab feed token', 'glft-', B64URL | DOTS, 20, 250],
  ['GitLab incoming mail token', 'glimt-', B64URL | DOTS, 20, 250],
  ['GitLab agent token', 'glagent-', B64URL | DOTS, 20, 250],
  ['GitLab runner registration token', 'GR1348941', B64URL | DOTS, 20, 250],
  ['npm access token', 'npm_', ALNUM, 36, 36],
  ['PyPI upload token', 'pypi-Ag', B64URL, 50, 512],
  ['Slack app-level token', 'xapp-', B64URL, 30, 255],
  ['Hugging Face organisation token', 'api_org_', ALNUM, 30, 40],
  ['DigitalOcean personal access token', 'dop_v1_', LOWER_HEX, 64, 64],
  ['DigitalOcean OAuth token', 'doo_v1_', LOWER_HEX, 64, 64],
  ['DigitalOcean refresh token', 'dor_v1_', LOWER_HEX, 64, 64],
  ['Shopify access token', 'shpat_', HEX, 32, 32],
  ['Shopify custom app token', 'shpca_', HEX, 32, 32],
  ['Shopify private app token', 'shppa_', HEX, 32, 32],
  ['Shopify shared secret', 'shpss_', HEX, 32, 32],
  ['Mailgun API key', 'key-', LOWER_HEX, 32, 32],
  ['Doppler personal token', 'dp.pt.', ALNUM, 40, 44],
  ['Doppler service token', 'dp.st.', WORD | DOTS, 40, 80],
  ['Doppler service account token', 'dp.sa.', ALNUM, 40, 44],
  ['Doppler CLI token', 'dp.ct.', ALNUM, 40, 44],
  ['Doppler SCIM token', 'dp.scim.', ALNUM, 40, 44],
  ['Doppler audit token', 'dp.audit.', ALNUM, 40, 44],
  ['Linear API key', 'lin_api_', ALNUM, 40, 40],
  ['Linear OAuth token', 'lin_oauth_', LOWER_HEX, 64, 64],
  ['Databricks token', 'dapi', LOWER_HEX, 32, 32],
  ['Atlassian API token', 'ATATT3', B64URL_PAD, 150, 300],
  ['Atlassian Connect token', 'ATCTT3', B64URL_PAD, 150, 300],
  ['Postman API key', 'PMAK-', B64URL, 59, 59],
  ['Grafana Cloud token', 'glc_', B64URL_PAD, 32, 400],
  ['Grafana service account token', 'glsa_', WORD, 41, 41],
  ['New Relic user key', 'NRAK-', UPPER | DIGIT, 27, 27],
  ['Sentry organisation token', 'sntrys_', B64URL_PAD, 50, 400],
  ['Sentry user token', 'sntryu_', LOWER_HEX, 64, 64],
  ['Vault service token', 'hvs.', B64URL, 24, 512],
  ['Vault batch token', 'hvb.', B64URL, 24, 512],
  ['age secret key', 'AGE-SECRET-KEY-1', UPPER | DIGIT, 58, 58],
  ['Notion integration token', 'secret_', ALNUM, 43, 43],
  ['Notion token', 'ntn_', ALNUM, 40, 50],
  ['Square access token', 'sq0atp-', B64URL, 22, 22],
  ['Square OAuth secret', 'sq0csp-', B64URL, 43, 43],
  ['Square production token', 'EAAA', B64URL, 60, 60],
  ['Figma personal access token', 'figd_', B64URL, 40, 50],
  ['Supabase access token', 'sbp_', LOWER_HEX, 40, 40],
  ['Supabase secret key', 'sb_secret_', B64URL, 20, 64],
  ['Groq API key', 'gsk_', ALNUM, 52, 52],
  ['Replicate API token', 'r8_', ALNUM, 37, 37],
  ['Perplexity API key', 'pplx-', ALNUM, 40, 64],
  ['xAI API key', 'xai-', ALNUM, 70, 90],
  ['LangSmith personal token', 'lsv2_pt_', WORD, 40, 50],
  ['LangSmith service key', 'lsv2_sk_', WORD, 40, 50],
  ['Pulumi access token', 'pul-', LOWER_HEX, 40, 40],
  ['Dynatrace token', 'dt0c01.', ALNUM | DOTS, 89, 89],
  ['Mapbox secret token', 'sk.eyJ', B64URL, 60, 512],
  ['Shippo live token', 'shippo_live_', LOWER_HEX, 40, 40],
  ['Shippo test token', 'shippo_test_', LOWER_HEX, 40, 40],
  ['PlanetScale token', 'pscale_tkn_', B64URL, 32, 64],
  ['PlanetScale password', 'pscale_pw_', B64URL, 32, 64],
  ['Prefect API key', 'pnu_', ALNUM, 36, 36],
  ['Brevo API key', 'xkeysib-', B64URL, 80, 81],
  ['HubSpot private app token', 'pat-na1-', HEX | DASHES, 36, 36],
  ['HubSpot private app token (EU)', 'pat-eu1-', HEX | DASHES, 36, 36],
  ['Contentful token', 'CFPAT-', B64URL, 43, 43],
  ['Netlify token', 'nfp_', ALNUM, 36, 40],
  ['Render API key', 'rnd_', ALNUM, 32, 32],
  ['Adobe client secret', 'p8e-', ALNUM, 32, 32],
  ['JFrog API key', 'AKCp', ALNUM, 69, 69],
  ['Alibaba Cloud access key id', 'LTAI', ALNUM, 12, 20],
  ['bulwark API key', 'bwk_', B64URL, 16, 512],
];

/** A matcher for one prefixed format; the alphabet bounds every read. */
function prefixed([, prefix, body, shortest, longest]: TokenFormat): Matcher {
  const dots = (body & DOTS) !== 0;
  return {
    category: 'api_key',
    words: [prefix],
    lookahead: prefix.length + longest + 4,
    find(s, i) {
      const from = i + prefix.length;
      const runEnd = skip(s, from, body, longest + 2);
      let end = runEnd;
      // A sentence may end right after a token whose alphabet has dots.
      while (dots && end > from && s.charCodeAt(end - 1) === DOT) end--;
      const length = end - from;
      if (length < shortest || length > longest || runEnd - from > longest + 1) return i + 1;
      if (end === runEnd && is(s.charCodeAt(end), WORD)) return i + 1;
      return match(i, end, 'api_key');
    },
  };
}

const MAX_SK = 256;

/**
 * OpenAI (`sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-`), Anthropic
 * (`sk-ant-`), OpenRouter (`sk-or-`) and the other `sk-` keys: a random body of
 * 20 to 256 characters with a digit and both cases, which keeps `sk-learn`
 * and other words after `sk-`.
 */
const openAiStyle: Matcher = {
  category: 'api_key',
  words: ['sk-'],
  lookahead: MAX_SK + 8,
  find(s, i) {
    const end = skip(s, i + 3, B64URL, MAX_SK + 1);
    const length = end - (i + 3);
    return length >= 20 && length <= MAX_SK && hasDigitUpperLower(s, i + 3, end)
      ? match(i, end, 'api_key')
      : i + 1;
  },
};

/**
 * AWS access key ids: a four-letter prefix naming the kind of principal and 16
 * upper-case letters or digits (20 in all).
 */
export const AWS_PREFIXES = [
  'AKIA', // access key
  'ASIA', // temporary (STS) access key
  'ABIA', // STS service bearer token
  'ACCA', // context-specific credential
  'AGPA', // group
  'AIDA', // IAM user
  'AIPA', // EC2 instance profile
  'ANPA', // managed policy
  'ANVA', // managed policy version
  'APKA', // public key
  'AROA', // role
  'ASCA', // certificate
];

const awsKeyId: Matcher = {
  category: 'api_key',
  words: [...AWS_PREFIXES, 'A3T'],
  lookahead: 24,
  find(s, i) {
    const end = skip(s, i + 4, UPPER | DIGIT, 17);
    return end - i === 20 && !is(s.charCodeAt(end), ALNUM) ? match(i, end, 'api_key') : i + 1;
  },
};

/**
 * Slack tokens `xoxb-` `xoxp-` `xoxa-` `xoxo-` `xoxr-` `xoxs-` `xoxe-` (and
 * `xoxe.xoxp-` refresh tokens): a numeric first group, then at least 24
 * characters in all. `xoxo-gossip` in a URL path and a too-short
 * `xoxb-12345-abcd234` stay.
 */
const slack: Matcher = {
  category: 'api_key',
  words: ['xox'],
  lookahead: 272,
  find(s, i) {
    let j = i;
    if (s.startsWith('xoxe.xox', i)) j += 5;
    const kind = s.charCodeAt(j + 3);
    if (!'abposre'.includes(String.fromCharCode(kind)) || s.charCodeAt(j + 4) !== DASH) {
      return i + 1;
    }
    const from = j + 5;
    const group = skip(s, from, DIGIT, 16);
    if (group === from || s.charCodeAt(group) !== DASH) return i + 1;
    const end = skip(s, from, B64URL, 256);
    const length = end - from;
    return length >= 24 && length < 256 ? match(i, end, 'api_key') : i + 1;
  },
};

/**
 * Hugging Face user (`hf_`) and organisation (`api_org_`) tokens: 30 to 40
 * random letters and digits. Random means two upper-case letters side by side
 * or a digit, and a lower-case letter: `hf_requiredCharacteristicsOfTheModel`
 * is an identifier, not a token.
 */
const huggingFace: Matcher = {
  category: 'api_key',
  words: ['hf_', 'api_org_'],
  lookahead: 52,
  find(s, i) {
    const from = i + (s.charCodeAt(i) === 0x68 ? 3 : 8);
    const end = skip(s, from, ALNUM, 41);
    const length = end - from;
    if (length < 30 || length > 40 || is(s.charCodeAt(end), WORD)) return i + 1;
    let lower = false;
    let random = false;
    for (let j = from; j < end; j++) {
      const code = s.charCodeAt(j);
      if (is(code, LOWER)) lower = true;
      else if (is(code, DIGIT) || (is(code, UPPER) && is(s.charCodeAt(j + 1), UPPER)))
        random = true;
    }
    return lower && random ? match(i, end, 'api_key') : i + 1;
  },
};

/** SendGrid: `SG.` + 22 + `.` + 43 base64url characters. */
const sendGrid: Matcher = {
  category: 'api_key',
  words: ['SG.'],
  lookahead: 72,
  find(s, i) {
    const idEnd = skip(s, i + 3, B64URL, 23);
    if (idEnd - (i + 3) !== 22 || s.charCodeAt(idEnd) !== DOT) return i + 1;
    const end = skip(s, idEnd + 1, B64URL, 44);
    return end - (idEnd + 1) === 43 ? match(i, end, 'api_key') : i + 1;
  },
};

/** Twilio API key (`SK`) and account (`AC`) SIDs: two capitals and 32 lower-case hex digits. */
const twilio: Matcher = {
  category: 'api_key',
  words: ['SK', 'AC'],
  lookahead: 40,
  find(s, i) {
    const end = skip(s, i + 2, LOWER_HEX, 33);
    return end - i === 34 && !is(s.charCodeAt(end), WORD) ? match(i, end, 'api_key') : i + 1;
  },
};

/**
 * Discord bot tokens: the bot's id in base64 (starting `M`, `N` or `O`), a
 * timestamp and an HMAC, dot-separated: 23-28, 6 and 27-38 characters.
 */
const discordBot: Matcher = {
  category: 'api_key',
  words: ['M', 'N', 'O'],
  lookahead: 84,
  find(s, i) {
    const idEnd = skip(s, i, ALNUM, 29);
    if (idEnd - i < 24 || idEnd - i > 28 || s.charCodeAt(idEnd) !== DOT) return i + 1;
    const timeEnd = skip(s, idEnd + 1, B64URL, 7);
    if (timeEnd - idEnd - 1 !== 6 || s.charCodeAt(timeEnd) !== DOT) return i + 1;
    const end = skip(s, timeEnd + 1, B64URL, 39);
    const length = end - timeEnd - 1;
    return length >= 27 && length <= 38 && hasDigitUpperLower(s, i, end)
      ? match(i, end, 'api_key')
      : i + 1;
  },
};

/**
 * Telegram bot tokens: the bot id (8-10 digits), `:`, and 35 base64url
 * characters; also after `bot` in an API URL (`/bot123:AA.../getMe`).
 */
function telegramAt(s: string, i: number, from: number): Outcome {
  const idEnd = skip(s, from, DIGIT, 11);
  if (idEnd - from < 8 || idEnd - from > 10 || s.charCodeAt(idEnd) !== 0x3a) return i + 1;
  const end = skip(s, idEnd + 1, B64URL, 36);
  return end - idEnd - 1 === 35 ? match(i, end, 'api_key') : i + 1;
}

const telegram: Matcher = {
  category: 'api_key',
  words: ['digits', 'bot'],
  lookahead: 52,
  find(s, i) {
    return telegramAt(s, i, s.charCodeAt(i) === 0x62 ? i + 3 : i);
  },
};

/**
 * Webhook URLs whose path is the secret: the host and the path's fixed part
 * stay, the rest of the path goes.
 */
export const WEBHOOK_PREFIXES = [
  'hooks.slack.com/services/',
  'hooks.slack.com/workflows/',
  'hooks.slack.com/triggers/',
  'discord.com/api/webhooks/',
  'discordapp.com/api/webhooks/',
  'ptb.discord.com/api/webhooks/',
  'canary.discord.com/api/webhooks/',
  'hooks.zapier.com/hooks/catch/',
];
const MAX_WEBHOOK_PATH = 256;

function webhookPathEnd(s: string, from: number): number {
  let j = from;
  while (
    j - from <= MAX_WEBHOOK_PATH &&
    (is(s.charCodeAt(j), B64URL) || s.charCodeAt(j) === 0x2f)
  ) {
    j++;
  }
  return j;
}

const webhooks: Matcher = {
  category: 'api_key',
  words: WEBHOOK_PREFIXES,
  lookahead: 40 + MAX_WEBHOOK_PATH,
  find(s, i) {
    let from = i;
    for (const prefix of WEBHOOK_PREFIXES) {
      if (s.startsWith(prefix, i)) {
        from = i + prefix.length;
        break;
      }
    }
    const end = webhookPathEnd(s, from);
    return end - from >= 16 && end - from <= MAX_WEBHOOK_PATH ? match(from, end, 'api_key') : i + 1;
  },
};

/** Mailchimp API keys: 32 lower-case hex digits, `-us` and the data centre's number; found from the dash. */
const mailchimp: Matcher = {
  category: 'api_key',
  chars: '-',
  lookahead: 6,
  find(s, dash, last) {
    if (!s.startsWith('-us', dash) || !is(s.charCodeAt(dash + 3), DIGIT)) return dash + 1;
    const start = dash - 32;
    if (start < last || !allLowerHex(s, start, dash) || is(s.charCodeAt(start - 1), WORD)) {
      return dash + 1;
    }
    let end = dash + 4;
    if (is(s.charCodeAt(end), DIGIT)) end++;
    return is(s.charCodeAt(end), WORD) ? dash + 1 : match(start, end, 'api_key');
  },
};

function allLowerHex(s: string, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (!is(s.charCodeAt(j), LOWER_HEX)) return false;
  return true;
}

/**
 * Microsoft Entra (Azure AD) client secrets: three characters, a digit, `Q~`
 * and 31-34 more; found from the tilde.
 */
const entraSecret: Matcher = {
  category: 'api_key',
  chars: '~',
  lookahead: 40,
  find(s, tilde, last) {
    const start = tilde - 5;
    if (
      start < last ||
      s.charCodeAt(tilde - 1) !== 0x51 ||
      !is(s.charCodeAt(tilde - 2), DIGIT) ||
      !secretChars(s, start, tilde - 2) ||
      secretChar(s.charCodeAt(start - 1))
    ) {
      return tilde + 1;
    }
    let end = tilde + 1;
    while (end - tilde <= 35 && secretChar(s.charCodeAt(end))) end++;
    const length = end - tilde - 1;
    return length >= 31 && length <= 34 ? match(start, end, 'api_key') : tilde + 1;
  },
};

function secretChar(code: number): boolean {
  return is(code, WORD | DOTS | DASHES) || code === 0x7e;
}

function secretChars(s: string, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (!secretChar(s.charCodeAt(j))) return false;
  return true;
}

/** Every `api_key` matcher, the table's first. */
export const API_KEY_MATCHERS: readonly Matcher[] = [
  ...TOKEN_FORMATS.map(prefixed),
  openAiStyle,
  awsKeyId,
  slack,
  huggingFace,
  sendGrid,
  twilio,
  discordBot,
  telegram,
  webhooks,
  mailchimp,
  entraSecret,
];
