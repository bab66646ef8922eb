import { securityEvents, type SecurityEvent } from '../../src/index.js';

/** Collects the security events of one type until `stop()`. */
export function collect(type: SecurityEvent['type']): {
  events: SecurityEvent[];
  stop: () => void;
} {
  const events: SecurityEvent[] = [];
  const stop = securityEvents.on(type, (event) => events.push(event));
  return { events, stop };
}
