import express5 from 'express';
import express4 from 'express4';
import type { Express } from 'express';

/** Every Express major the library supports; middleware tests run once per entry. */
export const EXPRESS_VERSIONS = [
  ['express5', express5],
  ['express4', express4],
] as const;

export type ExpressFactory = typeof express5;

/** An app with JSON parsing, the way most users mount bulwark. */
export function jsonApp(factory: ExpressFactory): Express {
  const app = factory();
  app.use(factory.json());
  return app;
}
