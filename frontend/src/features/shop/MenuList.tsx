import { Plus } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { formatCents } from "@/lib/format";
import type { MenuItem } from "@/lib/schemas";

interface MenuListProps {
  items: MenuItem[];
  inCart: (sku: string) => number;
  onAdd: (sku: string) => void;
}

function StockBadge({ item }: { item: MenuItem }) {
  if (item.sold_out) return <Badge variant="destructive">Sold out</Badge>;
  if (item.stock <= 5) return <Badge variant="warning">Only {item.stock} left</Badge>;
  return <Badge variant="secondary">{item.stock} in stock</Badge>;
}

/** The menu grouped by category; sold-out dishes stay visible but cannot be added. */
export function MenuList({ items, inCart, onAdd }: MenuListProps) {
  const categories = [...new Set(items.map((item) => item.category || "Other"))];
  return (
    <div className="space-y-8">
      {categories.map((category) => (
        <section key={category} aria-labelledby={`cat-${category}`}>
          <h2 id={`cat-${category}`} className="mb-3 text-lg font-semibold tracking-tight">
            {category}
          </h2>
          <ul className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
            {items
              .filter((item) => (item.category || "Other") === category)
              .map((item) => {
                const count = inCart(item.sku);
                const full = count >= item.stock;
                return (
                  <li key={item.sku} data-sku={item.sku}>
                    <Card className={item.sold_out ? "h-full border-dashed bg-muted/60 text-muted-foreground shadow-none" : "h-full"}>
                      <div className="flex h-full flex-col gap-2 p-4">
                        <div className="flex items-start justify-between gap-2">
                          <h3 className="font-medium leading-snug">{item.name}</h3>
                          <span className="font-semibold tabular-nums">{formatCents(item.price_cents)}</span>
                        </div>
                        {item.description && <p className="text-sm text-muted-foreground">{item.description}</p>}
                        <div className="mt-auto flex items-center justify-between gap-2 pt-2">
                          <StockBadge item={item} />
                          <Button
                            size="sm"
                            variant={count ? "secondary" : "default"}
                            disabled={item.sold_out || full}
                            aria-label={
                              item.sold_out ? `${item.name} is sold out` : `Add ${item.name} to cart`
                            }
                            onClick={() => onAdd(item.sku)}
                          >
                            <Plus aria-hidden="true" />
                            {item.sold_out ? "Sold out" : count ? `Add (${count})` : "Add"}
                          </Button>
                        </div>
                      </div>
                    </Card>
                  </li>
                );
              })}
          </ul>
        </section>
      ))}
    </div>
  );
}
