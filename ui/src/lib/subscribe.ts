/** Turns an asynchronous subscription (Tauri's `listen` answers with a promise) into a synchronous cleanup. */

/**
 * Returns a function that unsubscribes — also when called before the subscription finished
 * (it then unsubscribes as soon as it does). A subscription that fails is ignored.
 */
export function keepSubscription(subscribing: Promise<() => void>): () => void {
  let stop: (() => void) | null = null;
  let stopped = false;
  subscribing.then(
    (unlisten) => {
      if (stopped) unlisten();
      else stop = unlisten;
    },
    () => {},
  );
  return () => {
    stopped = true;
    stop?.();
    stop = null;
  };
}
