import { describe, expect, it, vi } from "vitest";
import { keepSubscription } from "./subscribe";

describe("keepSubscription", () => {
  it("unsubscribes once subscribed", async () => {
    const unlisten = vi.fn();
    const stop = keepSubscription(Promise.resolve(unlisten));
    await Promise.resolve();
    await Promise.resolve();
    stop();
    stop();
    expect(unlisten).toHaveBeenCalledOnce();
  });
  it("unsubscribes a subscription that finishes after cleanup", async () => {
    const unlisten = vi.fn();
    let resolve: (f: () => void) => void = () => {};
    const stop = keepSubscription(new Promise((r) => (resolve = r)));
    stop();
    resolve(unlisten);
    await Promise.resolve();
    await Promise.resolve();
    expect(unlisten).toHaveBeenCalledOnce();
  });
  it("ignores a failed subscription", async () => {
    const stop = keepSubscription(Promise.reject(new Error("no shell")));
    await Promise.resolve();
    expect(() => stop()).not.toThrow();
  });
});
