import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  createSecurityLogger,
  LOG_LEVELS,
  SecurityEventBus,
  type SecurityEvent,
  type SecurityLoggerOptions,
} from '../../src/index.js';
import { FAKE } from './fakes.js';
import { captureWarnings } from '../helpers/warnings.js';

function capture(): {
  lines: string[];
  records: () => Record<string, unknown>[];
  write: (c: string) => void;
} {
  const lines: string[] = [];
  return {
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    write: (chunk) => {
      lines.push(chunk);
    },
  };
}

describe('createSecurityLogger', () => {
  it.each([
    ['trace', ['debug', 'info', 'warn', 'error', 'fatal']],
    ['debug', ['debug', 'info', 'warn', 'error', 'fatal']],
    ['info', ['info', 'warn', 'error', 'fatal']],
    ['warn', ['warn', 'error', 'fatal']],
    ['error', ['error', 'fatal']],
    ['fatal', ['fatal']],
    ['silent', []],
  ] as const)('at level %s writes %j', (level, written) => {
    const out = capture();
    const log = createSecurityLogger({ level, destination: out });
    for (const at of LOG_LEVELS) log[at]('record');
    expect(out.records().map((r) => r.level)).toEqual(written);
    expect(LOG_LEVELS.filter((at) => log.isLevelEnabled(at))).toEqual(written);
  });

  it('writes one redacted JSON line per record, keeping IPs by default', () => {
    const out = capture();
    const log = createSecurityLogger({ destination: out, base: { service: 'api' } });
    log.warn('login failed', {
      user: 'ann@example.com',
      password: 'FAKE',
      ip: '203.0.113.7',
      header: `Bearer ${FAKE.bearer}`,
    });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]?.endsWith('\n')).toBe(true);
    const [record] = out.records();
    expect(record).toMatchObject({
      level: 'warn',
      msg: 'login failed',
      service: 'api',
      user: '[REDACTED:email]',
      password: '[REDACTED]',
      ip: '203.0.113.7',
      header: 'Bearer [REDACTED:bearer]',
    });
    expect(Number.isNaN(Date.parse(String(record?.time)))).toBe(false);
  });

  it('redacts the message and every field with the chosen categories', () => {
    const out = capture();
    const log = createSecurityLogger({ destination: out, redaction: { categories: 'all' } });
    log.error(`client 203.0.113.7 sent ${FAKE.jwt}`);
    expect(out.records()[0]?.msg).toBe('client [REDACTED:ip] sent [REDACTED:jwt]');
  });

  it('filters by minimum level', () => {
    const out = capture();
    const log = createSecurityLogger({ destination: out, level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error({ msg: 'e' });
    log.fatal('f');
    log.log('info', 'i2');
    expect(out.records().map((r) => r.level)).toEqual(['warn', 'error', 'fatal']);
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
    expect(log.level).toBe('warn');
  });

  it('never lets a field forge the level or another line', () => {
    const out = capture();
    const log = createSecurityLogger({ destination: out });
    log.info({ level: 'fatal', msg: 'a\n{"level":"fatal","msg":"forged"}' });
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]?.split('\n')).toHaveLength(2);
    expect(out.records()[0]?.level).toBe('info');
  });

  it('serialises Maps, Sets, bigints, cycles and Errors without throwing', () => {
    const out = capture();
    const log = createSecurityLogger({ destination: out });
    const loop: Record<string, unknown> = {};
    loop.loop = loop;
    log.error('boom', {
      map: new Map([['token', 'FAKE']]),
      set: new Set(['a']),
      big: 12n,
      loop,
      err: new Error('at ann@example.com'),
    });
    expect(out.records()[0]).toMatchObject({
      map: { token: '[REDACTED]' },
      set: ['a'],
      big: '12',
      loop: { loop: '[Circular]' },
      err: { name: 'Error', message: 'at [REDACTED:email]' },
    });
  });

  it('never throws into the caller when the destination fails', () => {
    const log = createSecurityLogger({
      destination: {
        write: () => {
          throw new Error('disk full');
        },
      },
    });
    const warnings = captureWarnings();
    expect(() => {
      log.error('x');
    }).not.toThrow();
    expect(warnings.codes()).toEqual(['BULWARK_LOG_WRITE_FAILED']);
  });

  it.each([
    ['unknown option', { levels: 'info' }],
    ['level unknown', { level: 'verbose' }],
    ['level number', { level: 30 }],
    ['level null', { level: null }],
    ['destination without write', { destination: {} }],
    ['destination string', { destination: 'stderr' }],
    ['base array', { base: [] }],
    ['base null', { base: null }],
    ['redaction string', { redaction: 'all' }],
    ['redaction bad inner option', { redaction: { maxDepth: -1 } }],
  ])('refuses %s', (_name, options) => {
    expect(() => createSecurityLogger(options as unknown as SecurityLoggerOptions)).toThrow(
      BulwarkConfigError,
    );
  });
});

describe('securityEvents default redaction and sink', () => {
  it('redacts bearer tokens, JWTs and password fields by default and keeps the IP', () => {
    const bus = new SecurityEventBus();
    bus.setSink(null);
    const heard: SecurityEvent[] = [];
    bus.on('auth.failed', (event) => heard.push(event));
    bus.emit('auth.failed', undefined, {
      reason: 'bad_password',
      password: 'FAKEhunter2',
      header: `Bearer ${FAKE.bearer}`,
      token: FAKE.jwt,
      note: `saw ${FAKE.jwt} from ann@example.com`,
      client: '203.0.113.7',
    });
    expect(heard[0]).toMatchObject({
      type: 'auth.failed',
      reason: 'bad_password',
      password: '[REDACTED]',
      header: 'Bearer [REDACTED:bearer]',
      token: '[REDACTED]',
      note: 'saw [REDACTED:jwt] from [REDACTED:email]',
      client: '203.0.113.7',
    });
  });

  it('writes events through a security logger on stderr by default', () => {
    const bus = new SecurityEventBus();
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    try {
      bus.emit('auth.failed', undefined, { reason: 'x', password: 'FAKE', client: '203.0.113.7' });
    } finally {
      process.stderr.write = original;
    }
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0] ?? '')).toMatchObject({
      level: 'warn',
      type: 'auth.failed',
      password: '[REDACTED]',
      client: '203.0.113.7',
    });
  });

  it('still lets setRedactor and setSink replace the defaults', () => {
    const bus = new SecurityEventBus();
    const sunk: SecurityEvent[] = [];
    bus.setSink((event) => sunk.push(event));
    bus.setRedactor((event) => ({ ...event, reason: 'custom' }));
    bus.emit('auth.failed', undefined, { reason: 'x', password: 'kept by the custom redactor' });
    expect(sunk[0]).toMatchObject({ reason: 'custom', password: 'kept by the custom redactor' });
  });
});
