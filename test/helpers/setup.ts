import { securityEvents } from '../../src/events.js';

// Tests read events through listeners; the stderr sink would only add noise.
securityEvents.setSink(null);
