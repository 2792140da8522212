import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { menuQuery } from "@/lib/api";
import type { Order } from "@/lib/schemas";
import { formatCents } from "@/lib/format";
import { Checkout } from "./Checkout";
import { MenuList } from "./MenuList";
import { cartTotalCents, useCart } from "./useCart";

/** How often the menu's stock is refreshed while the shop is open. */
export const MENU_REFRESH_MS = 3000;

function MenuSkeleton() {
  return (
    <div className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3" aria-busy="true" aria-label="Loading the menu">
      {Array.from({ length: 6 }, (_, i) => (
        <Skeleton key={i} className="h-32" />
      ))}
    </div>
  );
}

/** The shop: the menu with live stock beside the cart and checkout form. */
export function ShopPage({ onPlaced }: { onPlaced: (order: Order) => void }) {
  const menu = useQuery({ ...menuQuery, refetchInterval: MENU_REFRESH_MS });
  const cart = useCart();
  const [announcement, setAnnouncement] = useState("");
  const count = (sku: string) => cart.lines.find((l) => l.sku === sku)?.quantity ?? 0;
  const add = (sku: string) => {
    cart.add(sku);
    const name = menu.data?.find((item) => item.sku === sku)?.name ?? sku;
    setAnnouncement(`${name} added to your order (${count(sku) + 1} in the cart)`);
  };

  return (
    <div className="grid gap-6 pb-20 lg:grid-cols-[1fr_24rem] lg:pb-0">
      <p role="status" aria-live="polite" className="sr-only">
        {announcement}
      </p>
      <div>
        <h1 className="mb-1 text-2xl font-bold tracking-tight">Menu</h1>
        <p className="mb-6 text-sm text-muted-foreground">Stock updates live; sold-out dishes come back after a refill.</p>
        {menu.isPending ? (
          <MenuSkeleton />
        ) : menu.isError && !menu.data ? (
          <Alert variant="destructive">
            <AlertTitle>The menu could not be loaded</AlertTitle>
            <AlertDescription>
              <p>{menu.error.message}</p>
              <Button variant="outline" size="sm" className="mt-2" onClick={() => menu.refetch()}>
                Try again
              </Button>
            </AlertDescription>
          </Alert>
        ) : menu.data.length === 0 ? (
          <p className="rounded-md border border-dashed p-8 text-center text-muted-foreground">
            The menu is empty. Load the demo menu with <code>python -m ordersaga.demo_data</code>.
          </p>
        ) : (
          <MenuList items={menu.data} inCart={count} onAdd={add} />
        )}
      </div>
      <aside id="checkout" className="scroll-mt-20 lg:sticky lg:top-20 lg:self-start" aria-label="Cart and checkout">
        <Checkout menu={menu.data ?? []} cart={cart} onPlaced={onPlaced} />
      </aside>
      {cart.lines.length > 0 && (
        // On a phone the form is below the whole menu: a bar that jumps to it.
        <a
          href="#checkout"
          className="fixed inset-x-4 bottom-4 z-30 flex items-center justify-between rounded-full bg-primary px-5 py-3 text-sm font-semibold text-primary-foreground shadow-lg focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring lg:hidden"
        >
          <span>
            Cart · {cart.lines.reduce((n, l) => n + (l.quantity || 0), 0)} items
          </span>
          <span>{formatCents(cartTotalCents(cart.lines, menu.data ?? []))} · Checkout</span>
        </a>
      )}
    </div>
  );
}
