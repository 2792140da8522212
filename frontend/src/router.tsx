import {
  createRootRoute,
  createRoute,
  createRouter,
  lazyRouteComponent,
  Link,
  Outlet,
  useNavigate,
  type RouterHistory,
} from "@tanstack/react-router";
import { Moon, Sun, UtensilsCrossed } from "lucide-react";
import { Button } from "@/components/ui/button";
import { OrderTracking } from "@/features/orders/OrderTracking";
import { ShopPage } from "@/features/shop/ShopPage";
import { useTheme } from "@/lib/theme";

function Layout() {
  const [theme, toggleTheme] = useTheme();
  const navLink =
    "rounded-md px-3 py-1.5 text-sm font-medium text-muted-foreground hover:text-foreground focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring";
  return (
    <div className="min-h-dvh">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-card focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-40 border-b bg-background/90 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-2 px-4">
          <Link to="/" className="mr-1 flex items-center gap-2 whitespace-nowrap font-bold sm:mr-2">
            <UtensilsCrossed className="size-5 text-primary" aria-hidden="true" />
            <span>Orders FaaS</span>
          </Link>
          <nav aria-label="Main" className="flex gap-1">
            <Link to="/" className={navLink} activeProps={{ className: "bg-accent text-foreground" }} activeOptions={{ exact: true }}>
              Shop
            </Link>
            <Link to="/ops" className={navLink} activeProps={{ className: "bg-accent text-foreground" }}>
              Operations
            </Link>
            {/* Its own page (Swagger UI), served by the UI server: a full page load, not a route. */}
            <a href="/api/reference" className={navLink}>
              API
            </a>
          </nav>
          <Button
            variant="ghost"
            size="icon"
            className="ml-auto"
            onClick={toggleTheme}
            aria-label={theme === "dark" ? "Switch to light mode" : "Switch to dark mode"}
            aria-pressed={theme === "dark"}
          >
            {theme === "dark" ? <Sun aria-hidden="true" /> : <Moon aria-hidden="true" />}
          </Button>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <div className="py-16 text-center">
      <h1 className="text-2xl font-bold">Page not found</h1>
      <Link to="/" className="mt-4 inline-block text-primary underline">
        Back to the shop
      </Link>
    </div>
  );
}

const rootRoute = createRootRoute({ component: Layout, notFoundComponent: NotFound });

function ShopRoute() {
  const navigate = useNavigate();
  return <ShopPage onPlaced={(order) => void navigate({ to: "/orders/$orderId", params: { orderId: order.order_id } })} />;
}

const shopRoute = createRoute({ getParentRoute: () => rootRoute, path: "/", component: ShopRoute });

const orderRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/orders/$orderId",
  component: function OrderRoute() {
    const { orderId } = orderRoute.useParams();
    return <OrderTracking key={orderId} orderId={orderId} />;
  },
});

// The operations view is for staff (behind a sign-in): loaded when first visited, not with the shop.
const opsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/ops",
  component: lazyRouteComponent(() => import("@/features/ops/OpsRoute"), "OpsRoute"),
});

const routeTree = rootRoute.addChildren([shopRoute, orderRoute, opsRoute]);

/** The app's router; tests pass a memory history. */
export function makeRouter(history?: RouterHistory) {
  return createRouter({ routeTree, history, defaultPreload: false });
}

export const router = makeRouter();

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
