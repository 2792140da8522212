const STORAGE_KEY = "checkout-attempt";

/** A random key for `Idempotency-Key` (randomUUID needs a secure context; fall back if absent). */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Attempt {
  fingerprint: string;
  key: string;
}

/**
 * One key per checkout attempt: the same order body gets the same key (a double click, a retry
 * after a network error, even after a reload), a changed body gets a new one, and `finish()`
 * forgets it once the order is placed.
 */
export class CheckoutAttempts {
  constructor(
    private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> = sessionStorage,
    private readonly makeKey: () => string = newIdempotencyKey,
  ) {}

  keyFor(body: unknown): string {
    const fingerprint = JSON.stringify(body);
    const current = this.load();
    if (current && current.fingerprint === fingerprint) return current.key;
    const attempt = { fingerprint, key: this.makeKey() };
    this.storage.setItem(STORAGE_KEY, JSON.stringify(attempt));
    return attempt.key;
  }

  finish(): void {
    this.storage.removeItem(STORAGE_KEY);
  }

  private load(): Attempt | null {
    try {
      const value = JSON.parse(this.storage.getItem(STORAGE_KEY) ?? "null") as Attempt | null;
      return value && typeof value.key === "string" ? value : null;
    } catch {
      return null;
    }
  }
}
