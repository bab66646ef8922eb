import { EventEmitter } from 'node:events';
import { BulwarkError } from '../errors.js';
import type {
  BulwarkRedisCluster,
  RedisClusterNodeLike,
  RedisCommandOptions,
  RedisNodeClientLike,
} from './redis-client.js';

/** A cluster node as node-redis keeps it: its address and, once made, its client. */
interface NodeRedisClusterNode extends RedisClusterNodeLike {
  readonly client?: {
    readonly isReady: boolean;
    on(event: 'ready', listener: () => void): unknown;
  };
}

/** What this wrapper uses of node-redis's `createCluster()` result. */
export interface NodeRedisCluster {
  readonly masters: readonly NodeRedisClusterNode[];
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: RedisCommandOptions,
  ): Promise<unknown>;
  nodeClient(node: RedisClusterNodeLike): Promise<RedisNodeClientLike>;
}

/**
 * A command was given to a cluster client that has not yet learnt which node
 * owns which slot (no node has answered discovery), so it fails at once
 * instead of waiting for a deadline.
 */
export class RedisClusterNotConnectedError extends BulwarkError {
  declare readonly code: 'store.unavailable';

  constructor() {
    super('store.unavailable', { message: 'Redis cluster not connected yet' });
    this.name = 'RedisClusterNotConnectedError';
  }
}

/** What the cluster connection tells its maker. */
export interface ClusterLifecycle {
  /** Pause before discovery attempt number `retries` (from 0). */
  retryDelay(retries: number): number;
  /** A node (`host:port`) or discovery failed; called for every failure. */
  failed(error: Error, node: string | undefined): void;
  /** Every primary is connected again. */
  ready(): void;
  /** The first discovery attempt is over, whichever way it went. */
  settled(): void;
}

/**
 * node-redis's cluster client, given the lifecycle of bulwark's single-node
 * client.
 *
 * node-redis discovers the cluster once, in `connect()`, and gives up when no
 * root node answers; this wrapper retries discovery with backoff until one
 * does, so a cluster that is down at start-up is picked up later without a
 * restart. Until the slot map is known, commands fail at once instead of
 * throwing a `TypeError` from an empty map. `isReady` is true while every
 * primary's connection is up; `ready` is emitted each time that becomes true.
 * Node errors go to `lifecycle.failed`, never to unhandled `error` events.
 */
export class RedisClusterConnection extends EventEmitter implements BulwarkRedisCluster {
  readonly #cluster: NodeRedisCluster;
  readonly #lifecycle: ClusterLifecycle;
  #retries = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #ready = false;
  // node-redis reports a node's first 'ready' only; later ones are heard here.
  readonly #watched = new WeakSet<object>();

  constructor(cluster: NodeRedisCluster, lifecycle: ClusterLifecycle) {
    super();
    this.#cluster = cluster;
    this.#lifecycle = lifecycle;
    cluster.on('error', (error: Error) => {
      this.#failed(error, undefined);
    });
    cluster.on('node-error', (error: Error, node: { host: string; port: number }) => {
      this.#failed(error, `${node.host}:${String(node.port)}`);
    });
    for (const event of ['node-ready', 'node-reconnecting', 'node-disconnect', 'connect']) {
      cluster.on(event, () => {
        this.#refresh();
      });
    }
    void this.#connect();
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  get isReady(): boolean {
    const masters = this.#cluster.masters;
    return masters.length > 0 && masters.every((node) => node.client?.isReady === true);
  }

  get masters(): readonly RedisClusterNodeLike[] {
    return this.#cluster.masters;
  }

  nodeClient(node: RedisClusterNodeLike): Promise<RedisNodeClientLike> {
    return this.#cluster.nodeClient(node);
  }

  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: RedisCommandOptions,
  ): Promise<unknown> {
    // node-redis reads the slot map without checking that it has one.
    if (this.#cluster.masters.length === 0) {
      return Promise.reject(new RedisClusterNotConnectedError());
    }
    return this.#cluster.sendCommand(firstKey, isReadonly, args, options);
  }

  async quit(): Promise<unknown> {
    this.#close();
    return this.#cluster.close();
  }

  destroy(): void {
    this.#close();
    this.#cluster.destroy();
  }

  async #connect(): Promise<void> {
    try {
      // Resolves once every primary has connected; slots are routable before that.
      await this.#cluster.connect();
      this.#retries = 0;
      this.#lifecycle.settled();
      this.#refresh();
    } catch (error) {
      if (this.#closed) return;
      this.#failed(error instanceof Error ? error : new Error(String(error)), undefined);
      this.#retryTimer = setTimeout(() => {
        void this.#connect();
      }, this.#lifecycle.retryDelay(this.#retries++));
      this.#retryTimer.unref();
    }
  }

  #close(): void {
    this.#closed = true;
    this.#lifecycle.settled();
    clearTimeout(this.#retryTimer);
    this.#refresh();
    this.emit('end');
  }

  #refresh(): void {
    for (const node of this.#cluster.masters) {
      const client = node.client;
      if (client === undefined || this.#watched.has(client)) continue;
      this.#watched.add(client);
      client.on('ready', () => {
        this.#refresh();
      });
    }
    const ready = !this.#closed && this.isReady;
    if (ready === this.#ready) return;
    this.#ready = ready;
    if (ready) {
      this.#lifecycle.ready();
      this.emit('connect');
      this.emit('ready');
    }
  }

  #failed(error: Error, node: string | undefined): void {
    this.#refresh();
    if (this.#closed) return;
    this.#lifecycle.failed(error, node);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
