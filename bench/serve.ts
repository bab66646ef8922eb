import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { Express } from 'express';

// Runs one bench app in its own process, so the load generator never shares its event loop.
const [modulePath] = process.argv.slice(2);
if (modulePath === undefined) throw new Error('usage: serve.ts <app module>');
const { createApp } = (await import(pathToFileURL(resolve(modulePath)).href)) as {
  createApp: () => Express | Promise<Express>;
};
const app = await createApp();
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`listening ${String(address.port)}\n`);
});
