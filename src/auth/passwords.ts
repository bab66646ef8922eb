/**
 * Passwords, in parts: hashing (`passwords/hash.ts`), the bounded bcrypt line
 * (`passwords/queue.ts`) and the policy (`passwords/policy.ts`).
 */
export {
  hashPassword,
  passwordNeedsRehash,
  verifyPassword,
  verifyPasswordOrDummy,
} from './passwords/hash.js';
export type {
  HashPasswordOptions,
  QueueOption,
  VerifyPasswordOrDummyOptions,
} from './passwords/hash.js';
export { createPasswordQueue, sharedPasswordQueue } from './passwords/queue.js';
export type { PasswordQueue, PasswordQueueOptions } from './passwords/queue.js';
export { checkPasswordPolicy, createPasswordPolicy } from './passwords/policy.js';
export type {
  PasswordPolicy,
  PasswordPolicyCheck,
  PasswordPolicyContext,
  PasswordPolicyResult,
  PasswordPolicyRules,
  PasswordProblem,
  PasswordProblemCode,
} from './passwords/policy.js';
