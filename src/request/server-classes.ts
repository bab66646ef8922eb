import { IncomingMessage, ServerResponse, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { BulwarkConfigError } from '../errors.js';
import { markSharedClasses } from '../internal/dictionary-mode.js';

/** What `serverClasses()` needs of an Express application (4 or 5). */
export interface ExpressPrototypes {
  /** The prototype Express gives every request (`app.request`). */
  readonly request: object;
  /** The prototype Express gives every response (`app.response`). */
  readonly response: object;
}

/** The options `serverClasses()` returns: pass them to `http.createServer` or `https.createServer`. */
export type ServerClasses = Required<Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'>>;

type RequestConstructor = (this: IncomingMessage, socket: Socket) => void;
type ResponseConstructor = (this: ServerResponse, req: IncomingMessage, options?: object) => void;

function isClassSyntax(constructor: object): boolean {
  return Function.prototype.toString.call(constructor).startsWith('class');
}

/**
 * Options for `http.createServer` (or `https.createServer`) under which Node
 * builds each request and response with the prototypes Express gives them
 * (`app.request`, `app.response`).
 *
 * Express sets those prototypes on every request with `Object.setPrototypeOf`.
 * V8 then gives that request's `req` and `res` hidden classes of their own,
 * which its inline caches have never seen: every property read or write on
 * them, in Express, in Node's HTTP code and in each middleware, takes V8's slow
 * path. That is about half the instructions of a request to bare Express
 * (docs/performance.md). Objects born with those prototypes make Express's call
 * a no-op and keep the caches warm. Nothing else changes: the prototype chain
 * is the one Express sets, and Express still sets it.
 *
 * A request that enters a mounted sub-app gets that app's prototypes, and its
 * property accesses take the slow path again while it is there.
 *
 * @example
 * const app = express();
 * const server = http.createServer({ ...serverTimeouts(), ...serverClasses(app) }, app);
 */
export function serverClasses(app: ExpressPrototypes): ServerClasses {
  // Checked as if untyped: JavaScript callers can pass anything.
  const given = app as Partial<ExpressPrototypes> | null | undefined;
  const request = given?.request;
  const response = given?.response;
  const problems: string[] = [];
  if (!(request instanceof IncomingMessage)) {
    problems.push(
      '`app.request` must inherit from http.IncomingMessage: pass an Express application',
    );
  }
  if (!(response instanceof ServerResponse)) {
    problems.push(
      '`app.response` must inherit from http.ServerResponse: pass an Express application',
    );
  }
  if (isClassSyntax(IncomingMessage) || isClassSyntax(ServerResponse)) {
    problems.push(
      "this Node's http.IncomingMessage and http.ServerResponse are classes, which cannot initialise an object built elsewhere: leave serverClasses() out",
    );
  }
  if (problems.length > 0) throw new BulwarkConfigError('serverClasses', problems);

  // Node's constructors are plain functions (checked above), so they can
  // initialise an object whose prototype is already Express's.
  const initRequest = IncomingMessage as unknown as RequestConstructor;
  const initResponse = ServerResponse as unknown as ResponseConstructor;
  function ExpressRequest(this: IncomingMessage, socket: Socket): void {
    initRequest.call(this, socket);
  }
  ExpressRequest.prototype = request;
  function ExpressResponse(this: ServerResponse, req: IncomingMessage, options?: object): void {
    initResponse.call(this, req, options);
  }
  ExpressResponse.prototype = response;
  // Both checked above; objects built with them share hidden classes already.
  markSharedClasses(request as IncomingMessage);
  markSharedClasses(response as ServerResponse);
  return {
    IncomingMessage: ExpressRequest as unknown as typeof IncomingMessage,
    ServerResponse: ExpressResponse as unknown as typeof ServerResponse,
  };
}
