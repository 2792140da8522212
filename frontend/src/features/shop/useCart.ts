import { useCallback, useMemo, useState } from "react";
import { MAX_QUANTITY, type MenuItem } from "@/lib/schemas";

export interface CartLine {
  sku: string;
  quantity: number;
}

/** The cart: lines in the order they were added, quantities kept between 1 and the API's maximum. */
export function useCart() {
  const [lines, setLines] = useState<CartLine[]>([]);

  const add = useCallback((sku: string) => {
    setLines((current) => {
      const line = current.find((l) => l.sku === sku);
      if (!line) return [...current, { sku, quantity: 1 }];
      return current.map((l) => (l.sku === sku ? { ...l, quantity: Math.min(MAX_QUANTITY, l.quantity + 1) } : l));
    });
  }, []);

  const setQuantity = useCallback((sku: string, quantity: number) => {
    setLines((current) => current.map((l) => (l.sku === sku ? { ...l, quantity } : l)));
  }, []);

  const remove = useCallback((sku: string) => {
    setLines((current) => current.filter((l) => l.sku !== sku));
  }, []);

  const clear = useCallback(() => setLines([]), []);

  return useMemo(() => ({ lines, add, setQuantity, remove, clear }), [lines, add, setQuantity, remove, clear]);
}

export type Cart = ReturnType<typeof useCart>;

/** The cart's total in cents at current menu prices (lines whose sku left the menu count 0). */
export function cartTotalCents(lines: CartLine[], menu: MenuItem[]): number {
  const prices = new Map(menu.map((item) => [item.sku, item.price_cents]));
  return lines.reduce((sum, line) => sum + (prices.get(line.sku) ?? 0) * (Number.isFinite(line.quantity) ? line.quantity : 0), 0);
}
