import { useEffect, useRef, useState } from "react";
import { type FeedState, LiveFeed, type Transport, cursorBefore } from "@/lib/live";
import type { NotifyMessage } from "@/lib/schemas";
import { isFinal } from "./timeline";

const cursorKey = (orderId: string) => `order-cursor:${orderId}`;

export interface OrderFeed {
  messages: NotifyMessage[];
  state: FeedState;
  transport: Transport;
}

/**
 * Live events of one order. Resumes after the last cursor this tab saw (kept in
 * sessionStorage, so a reload misses nothing), or from just before the order was created.
 * The feed ends when it has delivered the order's final status: nothing the page shows follows it.
 */
export function useOrderFeed(
  orderId: string,
  createdAt: string | undefined,
  enabled: boolean,
  onMessage?: (message: NotifyMessage) => void,
): OrderFeed {
  const [messages, setMessages] = useState<NotifyMessage[]>([]);
  const [state, setState] = useState<FeedState>("connecting");
  const [transport, setTransport] = useState<Transport>("websocket");
  const callback = useRef(onMessage);
  callback.current = onMessage;

  useEffect(() => {
    if (!enabled || !createdAt) return;
    const saved = sessionStorage.getItem(cursorKey(orderId));
    const feed = new LiveFeed({
      path: `/orders/${encodeURIComponent(orderId)}`,
      after: saved ?? cursorBefore(createdAt),
      onMessage: (message) => {
        if (message.order_id !== orderId) return;
        sessionStorage.setItem(cursorKey(orderId), message.cursor);
        setMessages((current) => [...current, message]);
        callback.current?.(message);
        if (message.status && isFinal(message.status)) feed.stop();
      },
      onState: (next, via) => {
        setState(next);
        setTransport(via);
      },
    });
    feed.start();
    return () => feed.stop();
  }, [orderId, createdAt, enabled]);

  return { messages, state, transport };
}
