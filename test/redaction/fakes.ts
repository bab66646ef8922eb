// Every secret here is built from pieces and says FAKE, EXAMPLE or test, so no
// literal in the repository looks like a real credential to a scanner or a person.
const mixed = 'FAKEtest0123456789abcdXYZ';

export const FAKE = {
  openai: `sk-${mixed}${mixed}`,
  openaiProject: `sk-proj-${mixed}_${mixed}`,
  anthropic: `sk-ant-api03-${mixed}-${mixed}`,
  aws: 'AKIAIOSFODNN7EXAMPLE',
  github: `ghp_${'FAKEtest'.repeat(4)}1234`,
  githubFineGrained: `github_pat_${'FAKE_test_'.repeat(3)}12`,
  slack: `xoxb-1234567890-${'FAKEtest'.repeat(2)}`,
  stripe: `sk_live_${'FAKEtest'.repeat(3)}`,
  stripeRestricted: `rk_live_${'FAKEtest'.repeat(3)}`,
  google: `AIza${'FAKEtest'.repeat(4)}123`,
  huggingFace: `hf_${'FAKEtest'.repeat(4)}`,
  bulwark: `bwk_FAKEid_${'test'.repeat(6)}`,
  jwt: `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJGQUtFIn0.FAKEtestSignature_123`,
  bearer: `FAKEtest-0123456789`,
  basic: Buffer.from('user:FAKEpassword').toString('base64'),
  pem: [
    '-----BEGIN RSA PRIVATE KEY-----',
    'MIIEFAKEtestFAKEtestFAKEtestFAKEtest',
    'FAKEtestFAKEtestFAKEtestFAKEtest==',
    '-----END RSA PRIVATE KEY-----',
  ].join('\n'),
} as const;
