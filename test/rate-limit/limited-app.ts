import { rateLimit, type RateLimitOptions } from '../../src/index.js';
import { jsonApp, type ExpressFactory } from '../helpers/express.js';

/**
 * An app with `rateLimit(options)` before `GET /`; `state.handled` counts the
 * requests that reached the handler. `setup` mounts anything that must come first.
 */
export function limitedApp(
  factory: ExpressFactory,
  options: RateLimitOptions,
  setup?: (app: ReturnType<typeof jsonApp>) => void,
) {
  const app = jsonApp(factory);
  setup?.(app);
  const state = { handled: 0 };
  app.use(rateLimit(options));
  app.get('/', (_req, res) => {
    state.handled++;
    res.json({ ok: true });
  });
  return { app, state };
}
