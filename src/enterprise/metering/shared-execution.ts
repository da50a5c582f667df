// Subscription execution for graphql-ws that runs the selection set ONCE per event and document
// for live usage fields, instead of once per subscriber. graphql-js executes a subscription's
// selection set for every subscriber and every event; with 10,000 dashboards on one replica that
// is 10,000 executions a second of identical work. For the fields below the result depends only on
// the event (their resolvers map the payload; their types have no guarded or context-dependent
// fields), so subscribers whose documents print the same share one result per event. The local
// fan-out (live.ts) hands every subscriber the very same payload object, which keys the cache.
// Every other subscription (itemChanged, …) takes graphql's own path. Permissions are unaffected:
// the guarded `subscribe` still runs per subscriber, in createSourceEventStream.
import {
  createSourceEventStream, execute, getOperationAST, print, subscribe,
  type ExecutionArgs, type ExecutionResult,
} from "graphql";

const SHARED_FIELDS = new Set(["usageUpdated", "alertRaised", "platformUsageUpdated", "platformAlertRaised"]);

type Maybe<T> = T | Promise<T>;
const results = new WeakMap<object, Map<string, Maybe<ExecutionResult>>>();

export async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const op = getOperationAST(args.document, args.operationName);
  const sel = op?.operation === "subscription" ? op.selectionSet.selections : undefined;
  const only = sel?.length === 1 && sel[0]!.kind === "Field" ? sel[0] : undefined;
  if (!only || only.kind !== "Field" || !SHARED_FIELDS.has(only.name.value)) {
    return subscribe(args) as Promise<AsyncGenerator<ExecutionResult> | ExecutionResult>;
  }
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in Object(stream))) return stream as ExecutionResult;
  const key = `${print(op!)}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const run = (payload: unknown): Maybe<ExecutionResult> => {
    if (payload === null || typeof payload !== "object") return execute({ ...args, rootValue: payload });
    let byDoc = results.get(payload);
    if (!byDoc) results.set(payload, (byDoc = new Map()));
    let r = byDoc.get(key);
    if (!r) byDoc.set(key, (r = execute({ ...args, rootValue: payload })));
    return r;
  };
  const it: AsyncGenerator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      return r.done ? { value: undefined, done: true } : { value: await run(r.value), done: false };
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(err) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  } as AsyncGenerator<ExecutionResult>;
  return it;
}
