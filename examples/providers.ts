/**
 * Provider API keys stored sealed (AES-256-GCM through createSecretBox, the
 * provider name as associated data) in the example's auth store, and the
 * admin routes that manage them: PUT, GET, DELETE /admin/providers and
 * POST /admin/providers/reseal for ENCRYPTION_KEY rotation.
 */
import { randomBytes } from 'node:crypto';
import type { Express, Request, RequestHandler, Response } from 'express';
import * as z from 'zod';
import {
  BulwarkError,
  createSecretBox,
  isBulwarkError,
  resealAll,
  securityEvents,
  validate,
  type AuthStore,
  type BulwarkConfig,
  type ResealItem,
  type RouteAgnosticHandler,
  type SecretBox,
} from '../src/index.js';
import {
  PROVIDER_NAMES,
  providerWithKey,
  type Provider,
  type ProviderEndpoints,
  type ProviderName,
} from './provider.js';

/** What the store holds for one provider: the sealed key and what may be shown about it. */
interface StoredProviderKey {
  sealed: string;
  key_hint: string;
  updated_at: string;
}

/** One line of GET /admin/providers: never the key. */
export interface ProviderKeyInfo {
  name: ProviderName;
  key_hint: string;
  kid: string;
  updated_at: string;
}

export interface ProviderKeys {
  /** The provider /v1/complete calls: a stored key first, then the environment's, else `fallback`. */
  resolve(): Promise<Provider>;
  put(name: ProviderName, apiKey: string): Promise<void>;
  list(): Promise<ProviderKeyInfo[]>;
  remove(name: ProviderName): Promise<boolean>;
  /** Whether any key is stored (production start-up needs ENCRYPTION_KEY then). */
  any(): Promise<boolean>;
  /** Seals every stored key under the current ENCRYPTION_KEY. */
  reseal(): Promise<{ scanned: number; resealed: number; already_current: number; failed: number }>;
}

const SET_KEY = 'provider-keys';
const recordKey = (name: ProviderName): string => `provider-key:${name}`;
/** Associated data: a sealed key copied onto another provider's record fails to open. */
const aadOf = (name: ProviderName) => ({ aad: `provider:${name}` });

function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

function parseRecord(raw: string | undefined): StoredProviderKey | undefined {
  if (raw === undefined) return undefined;
  const value = JSON.parse(raw) as Partial<StoredProviderKey>;
  return typeof value.sealed === 'string' ? (value as StoredProviderKey) : undefined;
}

/** `v1.<kid>.<iv>.<ct>`: the id of the key a value is sealed under. */
function kidOf(sealed: string): string {
  return sealed.split('.')[1] ?? '';
}

/**
 * The box from ENCRYPTION_KEY and ENCRYPTION_PREVIOUS_KEYS. Outside
 * production, with no key set, a random one lives as long as the process:
 * keys stored in a shared store are then unreadable after a restart.
 */
function boxFromConfig(config: BulwarkConfig): SecretBox | undefined {
  const { key, previousKeys } = config.encryption;
  if (key !== undefined) return createSecretBox({ key, previousKeys });
  if (config.production) return undefined;
  return createSecretBox({ key: randomBytes(32) });
}

export function createProviderKeys(options: {
  config: BulwarkConfig;
  store: AuthStore;
  endpoints: ProviderEndpoints;
  /** The provider chosen from the environment alone (or the dry run). */
  fallback: Provider;
}): ProviderKeys {
  const { config, store, endpoints, fallback } = options;
  const box = boxFromConfig(config);
  const unreadable = new Set<string>();

  const open = (name: ProviderName, record: StoredProviderKey): string | undefined => {
    if (box === undefined) return undefined;
    try {
      return box.open(record.sealed, aadOf(name));
    } catch (error) {
      if (!isBulwarkError(error)) throw error;
      // Reported once per sealed value, not on every request.
      if (!unreadable.has(record.sealed)) {
        unreadable.add(record.sealed);
        securityEvents.emit('config.warning', undefined, {
          reason: 'provider_key_unreadable',
          provider: name,
          kid: kidOf(record.sealed),
        });
      }
      return undefined;
    }
  };

  return {
    async resolve() {
      const stored = await store.getMany(PROVIDER_NAMES.map(recordKey));
      for (const [index, name] of PROVIDER_NAMES.entries()) {
        const record = parseRecord(stored[index]);
        const apiKey = record === undefined ? undefined : open(name, record);
        if (apiKey !== undefined) return providerWithKey(name, apiKey, endpoints);
      }
      return fallback;
    },

    async put(name, apiKey) {
      if (box === undefined) {
        throw new BulwarkError('resource.conflict', {
          detail: 'ENCRYPTION_KEY is not set: provider keys cannot be stored sealed.',
        });
      }
      const record: StoredProviderKey = {
        sealed: box.seal(apiKey, aadOf(name)),
        key_hint: apiKey.slice(-4),
        updated_at: new Date().toISOString(),
      };
      await store.set(recordKey(name), JSON.stringify(record));
      await store.addMember(SET_KEY, name);
    },

    async list() {
      const stored = await store.getMany(PROVIDER_NAMES.map(recordKey));
      const result: ProviderKeyInfo[] = [];
      for (const [index, name] of PROVIDER_NAMES.entries()) {
        const record = parseRecord(stored[index]);
        if (record !== undefined) {
          result.push({
            name,
            key_hint: record.key_hint,
            kid: kidOf(record.sealed),
            updated_at: record.updated_at,
          });
        }
      }
      return result;
    },

    async remove(name) {
      const existed = await store.delete(recordKey(name));
      await store.removeMember(SET_KEY, name);
      return existed;
    },

    async any() {
      const stored = await store.getMany(PROVIDER_NAMES.map(recordKey));
      return stored.some((raw) => raw !== undefined);
    },

    async reseal() {
      if (box === undefined) {
        throw new BulwarkError('resource.conflict', {
          detail: 'ENCRYPTION_KEY is not set: there is no key to reseal under.',
        });
      }
      const names = (await store.members(SET_KEY)).filter(isProviderName);
      const records: { name: ProviderName; raw: string; record: StoredProviderKey }[] = [];
      for (const name of names) {
        const raw = await store.get(recordKey(name));
        const record = parseRecord(raw);
        if (raw !== undefined && record !== undefined) records.push({ name, raw, record });
      }
      const report = await resealAll(records, box, {
        read: ({ record }) => record.sealed,
        aad: ({ name }) => aadOf(name).aad,
        save: async (batch: readonly ResealItem<(typeof records)[number]>[]) => {
          for (const { record: entry, sealed } of batch) {
            const next: StoredProviderKey = { ...entry.record, sealed };
            // Only if nobody replaced the key meanwhile: a newer PUT is already current.
            await store.replace(recordKey(entry.name), entry.raw, JSON.stringify(next));
          }
        },
        onFailure: (entry) => {
          securityEvents.emit('config.warning', undefined, {
            reason: 'provider_key_unreadable',
            provider: entry.name,
            kid: kidOf(entry.record.sealed),
          });
        },
      });
      return {
        scanned: report.scanned,
        resealed: report.resealed,
        already_current: report.alreadyCurrent,
        failed: report.failed,
      };
    },
  };
}

const Name = z.strictObject({ name: z.enum(['openai', 'anthropic']) });
const PutKey = z.strictObject({
  // Printable ASCII, as every provider's keys are; no spaces or control characters.
  api_key: z
    .string()
    .min(8)
    .max(512)
    .regex(/^[\x21-\x7e]+$/),
});

/** Sends an async handler's rejection to `next`; generic, so the handler is typed by its route. */
function route<P = Request['params'], ReqBody = unknown, ReqQuery = Request['query']>(
  handler: (req: Request<P, unknown, ReqBody, ReqQuery>, res: Response) => Promise<void>,
): RequestHandler<P, unknown, ReqBody, ReqQuery> {
  return function providerRoute(req, res, next): void {
    handler(req, res).catch(next);
  };
}

/** Mounts the admin routes; `admin` is the middleware chain that lets admins only through. */
export function mountProviderRoutes(
  app: Express,
  admin: readonly RouteAgnosticHandler[],
  keys: ProviderKeys,
): void {
  app.get(
    '/admin/providers',
    ...admin,
    route(async (_req, res) => {
      res.json(await keys.list());
    }),
  );

  // Before '/admin/providers/:name' would matter: this is a POST, that one a PUT/DELETE.
  app.post(
    '/admin/providers/reseal',
    ...admin,
    route(async (_req, res) => {
      res.json(await keys.reseal());
    }),
  );

  app.put(
    '/admin/providers/:name',
    ...admin,
    validate({ params: Name, body: PutKey }),
    route(async (req, res) => {
      const { name } = req.params;
      const { api_key } = req.body;
      await keys.put(name, api_key);
      res.status(204).end();
    }),
  );

  app.delete(
    '/admin/providers/:name',
    ...admin,
    validate({ params: Name }),
    route(async (req, res) => {
      const { name } = req.params;
      if (!(await keys.remove(name))) throw new BulwarkError('resource.not_found');
      res.status(204).end();
    }),
  );
}
