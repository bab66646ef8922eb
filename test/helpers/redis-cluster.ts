import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { pollUntil } from './poll.js';
import { freePort } from './redis.js';

const NODES = 3;
// Long enough that a loaded test machine does not flag a live node as failing,
// short enough that a killed node is marked failed while a test still runs.
const NODE_TIMEOUT_MS = 3000;

async function ask(port: number, args: string[]): Promise<string | undefined> {
  const client = createClient({
    socket: { host: '127.0.0.1', port, connectTimeout: 300, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const reply = await client.sendCommand(args);
    return typeof reply === 'string' ? reply : JSON.stringify(reply);
  } catch {
    return undefined;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${String(code)}: ${stderr}`));
    });
  });
}

/**
 * A private three-node Redis Cluster (no replicas) on free loopback ports,
 * in its own temporary folder: `redis-server --cluster-enabled yes` nodes
 * joined with `redis-cli --cluster create`. A test may kill one node and
 * start it again; it rejoins from its nodes file. `stop()` kills every node
 * by pid and removes the folder.
 */
export class RedisClusterFixture {
  readonly ports: readonly number[];
  readonly #dir: string;
  readonly #processes = new Map<number, ChildProcess>();

  private constructor(ports: number[], dir: string) {
    this.ports = ports;
    this.#dir = dir;
  }

  static async start(): Promise<RedisClusterFixture> {
    const ports: number[] = [];
    while (ports.length < NODES) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: keep both in range and distinct.
      if (port < 55_535 && !ports.includes(port)) ports.push(port);
    }
    const fixture = new RedisClusterFixture(ports, mkdtempSync(join(tmpdir(), 'bulwark-cluster-')));
    try {
      await Promise.all(ports.map((port) => fixture.startNode(port)));
      await run('redis-cli', [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${String(p)}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      await fixture.whenHealthy();
      return fixture;
    } catch (error) {
      await fixture.stop();
      throw error;
    }
  }

  /** `redis://` URLs of the nodes, as `REDIS_CLUSTER_NODES` would list them. */
  get urls(): string[] {
    return this.ports.map((p) => `redis://127.0.0.1:${String(p)}`);
  }

  /** Starts (or restarts) the node on `port`, reusing its nodes file when it has one. */
  async startNode(port: number): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.#dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${String(port)}.conf`,
        '--cluster-node-timeout',
        String(NODE_TIMEOUT_MS),
      ],
      { stdio: 'ignore' },
    );
    this.#processes.set(port, child);
    await pollUntil(
      `redis cluster node ${String(port)}`,
      async () => (await ask(port, ['PING'])) === 'PONG',
      { timeoutMs: 20_000 },
    );
  }

  /** Kills the node on `port` (SIGKILL: no goodbye to the others). */
  async killNode(port: number): Promise<void> {
    const child = this.#processes.get(port);
    this.#processes.delete(port);
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
      child.kill('SIGKILL');
    });
  }

  /** Resolves once every node reports `cluster_state:ok`. */
  async whenHealthy(ms = 15_000): Promise<void> {
    await pollUntil(
      'redis cluster_state:ok',
      async () => {
        const states = await Promise.all(this.ports.map((p) => ask(p, ['CLUSTER', 'INFO'])));
        return states.every((s) => s?.includes('cluster_state:ok') === true);
      },
      { timeoutMs: ms },
    );
  }

  /** The port of the node that owns `key`'s slot. */
  async ownerOf(key: string): Promise<number> {
    const port = this.ports[0] ?? 0;
    const slot = Number(await ask(port, ['CLUSTER', 'KEYSLOT', key]));
    const raw = await ask(port, ['CLUSTER', 'SLOTS']);
    const ranges = JSON.parse(raw ?? '[]') as [number, number, [string, number, ...unknown[]]][];
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (owner === undefined) throw new Error(`redis cluster: no owner for slot ${String(slot)}`);
    return owner[2][1];
  }

  /**
   * Moves the slot of `key` (with its keys) to the node on `to`, the way
   * `redis-cli --cluster reshard` does, so a client still routing by the old
   * map is answered `MOVED`.
   */
  async moveSlotOf(key: string, to: number): Promise<void> {
    const from = await this.ownerOf(key);
    if (from === to) return;
    const slot = String(await ask(from, ['CLUSTER', 'KEYSLOT', key]));
    const id = async (port: number) => String(await ask(port, ['CLUSTER', 'MYID']));
    const [fromId, toId] = await Promise.all([id(from), id(to)]);
    await ask(to, ['CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId]);
    await ask(from, ['CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId]);
    const keys = JSON.parse((await ask(from, ['CLUSTER', 'GETKEYSINSLOT', slot, '1000'])) ?? '[]');
    if (Array.isArray(keys) && keys.length > 0) {
      await ask(from, [
        'MIGRATE',
        '127.0.0.1',
        String(to),
        '',
        '0',
        '5000',
        'KEYS',
        ...(keys as string[]),
      ]);
    }
    for (const port of this.ports) await ask(port, ['CLUSTER', 'SETSLOT', slot, 'NODE', toId]);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#processes.keys()].map((port) => this.killNode(port)));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Whether `redis-server` and `redis-cli` can be run here (a cluster needs both). */
export async function clusterToolsAvailable(): Promise<boolean> {
  try {
    await Promise.all([run('redis-server', ['--version']), run('redis-cli', ['--version'])]);
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('CI=true but redis-server/redis-cli missing');
    return false;
  }
}
