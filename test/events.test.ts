import { describe, expect, it } from 'vitest';
import { SecurityEventBus, type SecurityEvent } from '../src/index.js';
import { captureWarnings } from './helpers/warnings.js';

describe('SecurityEventBus', () => {
  it('delivers to typed and wildcard listeners and unsubscribes', () => {
    const bus = new SecurityEventBus();
    bus.setSink(null);
    const typed: SecurityEvent[] = [];
    const all: SecurityEvent[] = [];
    const off = bus.on('host.rejected', (e) => typed.push(e));
    bus.on('*', (e) => all.push(e));
    bus.emit('host.rejected', undefined, { reason: 'untrusted', host: 'evil.test' });
    bus.emit('auth.failed', undefined, { reason: 'expired' });
    off();
    bus.emit('host.rejected', undefined, { reason: 'again' });
    expect(typed.map((e) => e.reason)).toEqual(['untrusted']);
    expect(all.map((e) => e.type)).toEqual(['host.rejected', 'auth.failed', 'host.rejected']);
    expect(typed[0]).toMatchObject({ type: 'host.rejected', host: 'evil.test', ip: undefined });
    expect(Number.isNaN(Date.parse(typed[0]!.time))).toBe(false);
  });

  it('runs every event through the redactor before listeners and the sink', () => {
    const bus = new SecurityEventBus();
    const sunk: SecurityEvent[] = [];
    const heard: SecurityEvent[] = [];
    bus.setSink((e) => sunk.push(e));
    bus.setRedactor((e) => ({ ...e, token: '[REDACTED]' }));
    bus.on('auth.failed', (e) => heard.push(e));
    bus.emit('auth.failed', undefined, { reason: 'x', token: 'eyJ.fake.token' });
    expect(heard[0]?.token).toBe('[REDACTED]');
    expect(sunk[0]?.token).toBe('[REDACTED]');
  });

  it('keeps delivering when a listener or the redactor throws', () => {
    const bus = new SecurityEventBus();
    bus.setSink(null);
    const heard: string[] = [];
    bus.on('auth.failed', () => {
      throw new Error('listener bug');
    });
    bus.on('auth.failed', (e) => {
      heard.push(e.reason);
    });
    bus.setRedactor(() => {
      throw new Error('redactor bug');
    });
    const warnings = captureWarnings();
    expect(() => {
      bus.emit('auth.failed', undefined, { reason: 'x', token: 'abc' });
    }).not.toThrow();
    expect(heard).toEqual(['redactor_failed']);
    expect(warnings.codes()).toEqual(['BULWARK_LISTENER_THREW']);
    expect(warnings.messages()[0]).toContain('listener bug');
  });
});
