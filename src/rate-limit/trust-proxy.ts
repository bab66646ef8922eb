import type { Request } from 'express';
import { warnOnce } from '../internal/warn.js';

/**
 * Per-limiter start-up checks of the app's `trust proxy` setting, which decides
 * what `req.ip` (and so every IP key) is. express-rate-limit runs the same
 * checks only in its default key generator, which bulwark replaces, so they
 * are done here once per process, as `BulwarkWarning`s.
 */
export function trustProxyChecker(): (req: Request) => void {
  let settingChecked = false;
  let headerChecked = false;
  return (req) => {
    if (settingChecked && headerChecked) return;
    if (!settingChecked) {
      settingChecked = true;
      if (req.app.get('trust proxy') === true) {
        warnOnce(
          'BULWARK_TRUST_PROXY_PERMISSIVE',
          "Express 'trust proxy' is true: req.ip is the left-most X-Forwarded-For entry, which any client can forge to get a fresh rate-limit bucket per request. Set it to the number of proxies in front of the app, or their addresses.",
        );
      }
    }
    if (!headerChecked && req.headers['x-forwarded-for'] !== undefined) {
      headerChecked = true;
      if (req.app.get('trust proxy') === false) {
        warnOnce(
          'BULWARK_TRUST_PROXY_UNSET',
          "A request carried X-Forwarded-For while Express 'trust proxy' is off: behind a proxy every client shares the proxy's address and one rate-limit bucket. Set 'trust proxy' to the number of proxies in front of the app (the header itself is never used as a key).",
        );
      }
    }
  };
}
