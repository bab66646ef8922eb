/**
 * setTimeout's ceiling: a larger delay fires at once, which would turn a
 * timeout or a window into "no limit at all". Every duration bulwark hands to
 * a timer is checked against it, by factories and `loadConfig()` alike.
 */
export const MAX_TIMER_MS = 2_147_483_647;
