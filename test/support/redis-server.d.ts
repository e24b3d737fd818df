/** A redis-server started by a test or the bench (see redis-server.js). */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Starts the server (again) on its port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills the server at once (SIGKILL); resolves once it has exited. */
  kill(): Promise<void>;
  /** Stops the server for good. */
  stop(): Promise<void>;
  /** Stalls the server (SIGSTOP): its connections stay open and nothing answers. */
  pause(): void;
  /** Ends a stall (SIGCONT). */
  resume(): void;
}
export function startRedis(): Promise<TestRedis>;
/** Whether `redis-server` is on the PATH. */
export function hasRedisServer(): boolean;
