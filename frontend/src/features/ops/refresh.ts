/**
 * A throttle for refreshing the summary on live events: a burst of events costs at most one
 * summary per `gapMs`, counted from the last refresh whatever started it (events or the
 * periodic poll), and one more at the end of the gap so the burst's last event shows.
 */
export function throttledRefresh(refresh: () => void, gapMs: number, lastRefreshAt: () => number) {
  let trailing: ReturnType<typeof setTimeout> | null = null;
  return {
    request() {
      if (trailing) return;
      const wait = lastRefreshAt() + gapMs - Date.now();
      if (wait <= 0) refresh();
      else
        trailing = setTimeout(() => {
          trailing = null;
          refresh();
        }, wait);
    },
    cancel() {
      if (trailing) clearTimeout(trailing);
      trailing = null;
    },
  };
}

/**
 * Live events handed on in batches: the first event of a quiet spell starts a `gapMs` wait,
 * and then every event that arrived meanwhile (the newest `keep`, newest first) goes to
 * `flush` at once, so a busy saga costs the page one render per gap instead of one per event.
 */
export function batchedEvents<T>(flush: (newestFirst: T[]) => void, gapMs: number, keep: number) {
  let waiting: T[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    push(item: T) {
      waiting.push(item);
      if (waiting.length > keep) waiting.shift();
      timer ??= setTimeout(() => {
        timer = null;
        const batch = waiting.reverse();
        waiting = [];
        flush(batch);
      }, gapMs);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      waiting = [];
    },
  };
}
