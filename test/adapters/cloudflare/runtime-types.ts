// Type-checked by tsc only (tsconfig.json includes test/): the runtime's own declarations
// (@cloudflare/workers-types 4.x, abridged, not a dependency) must fit the adapter's structural
// types, so that users with those types pass `ctx` and `env.HUB` without a cast.
import type { DurableObjectNamespaceLike, DurableObjectStateLike } from "../../../src/adapters/cloudflare/index.ts";

interface WorkersDurableObjectId {
  toString(): string;
  equals(other: WorkersDurableObjectId): boolean;
  readonly name?: string;
}
interface WorkersDurableObjectStorage {
  get<T = unknown>(key: string, options?: { allowConcurrency?: boolean; noCache?: boolean }): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: { allowConcurrency?: boolean; noCache?: boolean }): Promise<Map<string, T>>;
  list<T = unknown>(options?: {
    start?: string;
    startAfter?: string;
    end?: string;
    prefix?: string;
    reverse?: boolean;
    limit?: number;
    allowConcurrency?: boolean;
    noCache?: boolean;
  }): Promise<Map<string, T>>;
  put<T>(key: string, value: T, options?: { allowUnconfirmed?: boolean; noCache?: boolean }): Promise<void>;
  put<T>(entries: Record<string, T>, options?: { allowUnconfirmed?: boolean; noCache?: boolean }): Promise<void>;
  delete(key: string, options?: { allowUnconfirmed?: boolean; noCache?: boolean }): Promise<boolean>;
  delete(keys: string[], options?: { allowUnconfirmed?: boolean; noCache?: boolean }): Promise<number>;
  deleteAll(): Promise<void>;
  getAlarm(options?: { allowConcurrency?: boolean }): Promise<number | null>;
  setAlarm(scheduledTime: number | Date, options?: { allowConcurrency?: boolean; allowUnconfirmed?: boolean }): Promise<void>;
  deleteAlarm(options?: { allowConcurrency?: boolean; allowUnconfirmed?: boolean }): Promise<void>;
}
interface WorkersDurableObjectState {
  readonly id: WorkersDurableObjectId;
  readonly storage: WorkersDurableObjectStorage;
  waitUntil(promise: Promise<unknown>): void;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
  abort(reason?: string): void;
}
interface WorkersDurableObjectNamespace {
  newUniqueId(): WorkersDurableObjectId;
  idFromName(name: string): WorkersDurableObjectId;
  idFromString(id: string): WorkersDurableObjectId;
  get(
    id: WorkersDurableObjectId,
    options?: { locationHint?: string },
  ): { readonly id: WorkersDurableObjectId; fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> };
}
export function fitsTheRuntimeTypes(state: WorkersDurableObjectState, namespace: WorkersDurableObjectNamespace): void {
  const ours: DurableObjectStateLike = state;
  const binding: DurableObjectNamespaceLike = namespace;
  void [ours, binding];
}
