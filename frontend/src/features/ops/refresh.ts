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
