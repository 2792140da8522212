// What a person does in the UI, one function per scenario; each throws on the first surprise.
import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import path from "node:path";
import { artifactsDir, screenshot } from "./browser.mjs";

const LATER_THAN_DISPATCHED = ["DISPATCHED", "PREPARING", "IN_TRANSIT", "DELIVERED"];

async function openShop(page, base) {
  await page.goto(`${base}/`);
  await page.getByRole("button", { name: "Add Pizza Margherita to cart" }).waitFor({ timeout: 20_000 });
}

async function fillCustomer(page) {
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByLabel("Delivery address").fill("12 Analytical Engine Row");
}

/** The menu shows prices and live stock; the sold-out dish cannot be added. Light and dark. */
export async function menu(page, base, env) {
  await openShop(page, base);
  const card = page.locator('li[data-sku="PIZ-MARG"]');
  assert.match(await card.innerText(), /€9\.50/);
  assert.match(await card.innerText(), /\d+ in stock|Only \d+ left/);
  const soldOut = page.getByRole("button", { name: `${env.SOLD_OUT_NAME} is sold out` });
  assert.equal(await soldOut.isDisabled(), true, "a sold-out dish must not be addable");
  await page.getByRole("button", { name: "Add Pizza Margherita to cart" }).click();
  await page.getByRole("button", { name: "Add Fries to cart" }).click();
  await screenshot(page, "shop");
  await page.getByRole("button", { name: "Switch to dark mode" }).click();
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains("dark")), true);
  await screenshot(page, "shop-dark");
  // A phone: one column, and a bar that takes you to the cart.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("link", { name: /Cart · 2 items/ }).click();
  await page.getByLabel("Name").waitFor();
  assert.equal(await page.evaluate(() => location.hash), "#checkout");
  await page.screenshot({ path: path.join(artifactsDir(), "shop-phone.png") });
}

/** Bad input is flagged next to the field before anything is sent. */
export async function bad_field(page, base) {
  let orders = 0;
  page.on("request", (request) => {
    if (request.url().endsWith("/function/place-order")) orders += 1;
  });
  await openShop(page, base);
  await page.getByRole("button", { name: "Add Pizza Margherita to cart" }).click();
  await page.getByLabel("Delivery address").fill("1 Loop St");
  await page.getByLabel("Email (optional)").fill("not-an-email");
  await page.getByRole("button", { name: /Place order/ }).click();
  await page.getByText("Enter your name").waitFor();
  await page.getByText("Enter an email like ada@example.com").waitFor();
  const name = page.getByLabel("Name");
  assert.equal(await name.getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByLabel("Email (optional)").getAttribute("aria-invalid"), "true");
  assert.equal(await name.evaluate((el) => el === document.activeElement), true, "focus goes to the first bad field");
  assert.equal(orders, 0, "nothing is sent while a field is bad");
  await screenshot(page, "checkout-errors");
}

/** Order, then watch the tracking page reach DISPATCHED over the WebSocket without a reload. */
export async function order_dispatched(page, base) {
  const frames = [];
  let posts = 0;
  page.on("request", (request) => {
    if (request.url().endsWith("/function/place-order")) posts += 1;
  });
  page.on("websocket", (ws) => {
    if (ws.url().includes("/ws/orders/")) ws.on("framereceived", (frame) => frames.push(String(frame.payload)));
  });
  await openShop(page, base);
  await page.getByRole("button", { name: "Add Pizza Margherita to cart" }).click();
  await page.getByRole("button", { name: "Add Pizza Margherita to cart" }).click();
  await fillCustomer(page);
  const placed = page.waitForResponse((r) => r.url().endsWith("/function/place-order"));
  const clickedAt = Date.now();
  await page.getByRole("button", { name: /Place order · €19\.00/ }).dblclick();
  const answer = await placed;
  assert.equal(answer.status(), 201);
  const key = answer.request().headers()["idempotency-key"];
  assert.ok(key, "the checkout sends an Idempotency-Key");
  await page.waitForURL(/\/orders\/[0-9a-f]{32}$/);
  const orderId = page.url().split("/").at(-1);
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const status = page.getByTestId("order-status");
  const firstSeen = await status.getAttribute("data-status");
  await page.waitForFunction(
    (wanted) => wanted.includes(document.querySelector('[data-testid="order-status"]')?.dataset.status),
    LATER_THAN_DISPATCHED,
    { timeout: 60_000 },
  );
  const shownAfterMs = Date.now() - clickedAt;
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page must not reload");
  assert.ok(
    frames.some((f) => f.includes('"status":"DISPATCHED"')),
    `the DISPATCHED event arrives over the WebSocket (frames: ${frames.length})`,
  );
  await page.getByTestId("live-badge").or(page.getByText("Final")).first().waitFor();
  const reached = await page.locator('li[data-reached="true"]').evaluateAll((els) => els.map((el) => el.dataset.status));
  for (const step of ["PENDING", "STOCK_RESERVED", "PAID", "DISPATCHED"]) assert.ok(reached.includes(step), `${step} in ${reached}`);
  console.log(`order ${orderId}: first shown ${firstSeen}, reached ${reached.join(" → ")} live`);
  console.log(`measured: click on Place order → DISPATCHED on screen in ${shownAfterMs} ms`);
  assert.equal(posts, 1, "a double click on Place order sends one request");
  const again = await page.evaluate(
    async ({ key }) => {
      const r = await fetch("/function/place-order", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify({
          customer: { name: "Ada Lovelace", address: "12 Analytical Engine Row" },
          items: [{ sku: "PIZ-MARG", quantity: 2 }],
        }),
      });
      return { status: r.status, id: (await r.json()).order_id };
    },
    { key },
  );
  assert.deepEqual(again, { status: 200, id: orderId }, "a retry with the same key returns the first order");
  await screenshot(page, "tracking");
  // A reload rebuilds the same timeline from order-status plus the resumed feed.
  await page.reload();
  await status.waitFor();
  const afterReload = await page.locator('li[data-reached="true"]').evaluateAll((els) => els.map((el) => el.dataset.status));
  for (const step of reached) assert.ok(afterReload.includes(step), `${step} still shown after a reload`);
}

/** With WebSockets blocked, the tracking page follows the order over SSE instead. */
export async function sse_fallback(page, base) {
  await page.addInitScript(() => {
    // A network that drops WebSocket upgrades: every socket fails before opening.
    window.WebSocket = class {
      constructor() {
        this.readyState = 0;
        setTimeout(() => {
          this.readyState = 3;
          this.onclose?.({ code: 1006 });
        }, 10);
      }
      close() {}
      send() {}
    };
  });
  await openShop(page, base);
  await page.getByRole("button", { name: "Add Fries to cart" }).click();
  await fillCustomer(page);
  await page.getByRole("button", { name: /Place order/ }).click();
  await page.waitForURL(/\/orders\/[0-9a-f]{32}$/);
  await page.getByText("Live · SSE").waitFor({ timeout: 20_000 });
  await page.waitForFunction(
    (wanted) => wanted.includes(document.querySelector('[data-testid="order-status"]')?.dataset.status),
    LATER_THAN_DISPATCHED,
    { timeout: 60_000 },
  );
  await screenshot(page, "tracking-sse");
}

/** An item that sells out while in the cart is refused by the gateway, naming the field. */
export async function sold_out_rejected(page, base, env) {
  await openShop(page, base);
  await page.getByRole("button", { name: `Add ${env.RACE_NAME} to cart` }).click();
  await fillCustomer(page);
  // The test now sells the last one elsewhere (stock set to 0 in MongoDB) and says GO.
  console.log("READY");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === "GO") break;
  lines.close();
  await page.getByRole("button", { name: /Place order/ }).click();
  const error = page.getByTestId("order-error");
  await error.waitFor({ timeout: 20_000 });
  const text = await error.innerText();
  assert.match(text, /sold out/i);
  assert.match(text, /Field: items\[0\]\.sku/);
  assert.equal(await page.getByLabel(`Quantity of ${env.RACE_NAME}`).getAttribute("aria-invalid"), "true");
  assert.match(page.url(), /\/$/, "still on the shop");
  await screenshot(page, "sold-out-rejected");
}

/** Sign in on /ops with the admin password (the UI server sets a session cookie). */
async function signIn(page, base, password) {
  await page.goto(`${base}/ops`);
  await page.getByLabel("Admin password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout: 20_000 });
}

/** /ops asks for the admin password: a wrong one is refused, the right one opens the live view; signing out closes it. */
export async function ops_sign_in(page, base, env) {
  let credentialsInUrl = 0;
  page.on("request", (request) => {
    if (/token=|password=/.test(request.url())) credentialsInUrl += 1;
  });
  await page.goto(`${base}/ops`);
  await page.getByRole("heading", { name: "Operations" }).waitFor();
  await page.getByLabel("Admin password").waitFor();
  assert.equal(await page.getByTestId("count-PENDING").count(), 0, "nothing of the operator's before signing in");
  await page.getByLabel("Admin password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").getByText("Wrong password.").waitFor();
  await screenshot(page, "ops-sign-in-refused");
  await page.getByLabel("Admin password").fill(env.ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("count-PENDING").waitFor({ timeout: 20_000 });
  await page.getByTestId("feed-state").getByText("Live", { exact: true }).waitFor({ timeout: 20_000 });
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "ofs_session");
  assert.ok(session, "a session cookie");
  assert.equal(session.httpOnly, true, "scripts cannot read the session cookie");
  assert.equal(session.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie.includes("ofs_session")), false);
  await page.reload();
  await page.getByTestId("count-PENDING").waitFor({ timeout: 20_000 }); // the session outlives a reload
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Admin password").waitFor();
  const after = await page.evaluate(async () => (await fetch("/function/ops-summary")).status);
  assert.equal(after, 401, "operator calls are refused once signed out");
  assert.equal(credentialsInUrl, 0, "no password or token ever goes into a URL");
  await screenshot(page, "ops-signed-out");
}

/** The operations view: pipeline counts, throughput, stock and dead letters, live. */
export async function ops(page, base, env) {
  await signIn(page, base, env.ADMIN_PASSWORD);
  await page.getByRole("heading", { name: "Operations" }).waitFor();
  await page.getByTestId("count-PENDING").waitFor({ timeout: 20_000 });
  await page.getByRole("list", { name: "Stock levels" }).getByText("Pizza Margherita").waitFor();
  await page.getByTestId("feed-state").getByText("Live", { exact: true }).waitFor({ timeout: 20_000 });
  // A new order shows up in the live event list and in the pipeline without a reload.
  await page.evaluate(() =>
    fetch("/function/place-order", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: { name: "Ops", address: "Desk 1" }, items: [{ sku: "DRK-WATR", quantity: 1 }] }),
    }),
  );
  await page.getByRole("list", { name: "Recent events" }).getByText("order.placed").first().waitFor({ timeout: 20_000 });
  // The summary follows: the new order is counted once dispatched.
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="count-DISPATCHED"]')?.textContent) >= 1,
    null,
    { timeout: 20_000 },
  );
  await page.getByText(/No dead letters|Replay/).first().waitFor();
  await screenshot(page, "ops");
  await page.getByRole("button", { name: "Switch to dark mode" }).click();
  await screenshot(page, "ops-dark");
}

/** A dead letter is replayed from /ops by a signed-in operator, without typing the password again. */
export async function dead_letter_replay(page, base, env) {
  await signIn(page, base, env.ADMIN_PASSWORD);
  const replay = page.getByRole("button", { name: /Replay stock\.refilled/ });
  await replay.waitFor({ timeout: 20_000 });
  await replay.click();
  const dialog = page.getByRole("dialog", { name: "Replay dead letter" });
  assert.equal(await dialog.getByLabel("Admin password").count(), 0, "the session is the credential");
  await dialog.getByRole("button", { name: "Replay" }).click();
  await page.getByText(new RegExp(`Replayed ${env.LETTER_ID} as \\d+-\\d+`)).first().waitFor();
  assert.equal(await dialog.isVisible(), false, "the dialog closes after the replay");
  await page.getByText("No dead letters. Every event was handled.").waitFor({ timeout: 20_000 });
  await screenshot(page, "ops-replayed");
}

/** Place the order in the cart and wait, on its tracking page, until it shows as cancelled. */
async function placeAndWaitForCancel(page) {
  await page.getByRole("button", { name: /Place order/ }).click();
  await page.waitForURL(/\/orders\/[0-9a-f]{32}$/);
  await page.waitForFunction(
    () => document.querySelector('[data-testid="order-status"]')?.dataset.status === "CANCELLED",
    null,
    { timeout: 60_000 },
  );
}

/** More than the stock left: the saga cancels the order and the tracking page says why, live. */
export async function cancelled_live(page, base, env) {
  await openShop(page, base);
  await page.getByRole("button", { name: `Add ${env.SHORT_NAME} to cart` }).click();
  await page.getByRole("button", { name: `One more ${env.SHORT_NAME}` }).click();
  assert.equal(await page.getByLabel(`Quantity of ${env.SHORT_NAME}`).inputValue(), "2");
  await fillCustomer(page);
  await placeAndWaitForCancel(page);
  const reason = await page.getByTestId("cancel-reason").innerText();
  assert.match(reason, new RegExp(`out of stock.*${env.SHORT_SKU}`, "i"));
  await screenshot(page, "tracking-cancelled");
}

/** The payment provider declines: the saga gives the stock back and the page says why, live. */
export async function payment_declined(page, base) {
  const frames = [];
  page.on("websocket", (ws) => {
    if (ws.url().includes("/ws/orders/")) ws.on("framereceived", (frame) => frames.push(String(frame.payload)));
  });
  await openShop(page, base);
  await page.getByRole("button", { name: "Add Pizza Margherita to cart" }).click();
  await fillCustomer(page);
  await placeAndWaitForCancel(page);
  assert.equal(await page.getByTestId("cancel-reason").innerText(), "payment declined");
  const reached = await page.locator('li[data-reached="true"]').evaluateAll((els) => els.map((el) => el.dataset.status));
  assert.ok(reached.includes("STOCK_RESERVED"), `the reservation before the decline shows: ${reached}`);
  assert.ok(!reached.includes("PAID"), `an order whose payment was declined was never paid: ${reached}`);
  assert.ok(
    frames.some((f) => f.includes('"type":"payment.declined"')) && frames.some((f) => f.includes('"status":"CANCELLED"')),
    `the decline and the cancellation arrive live over the WebSocket (frames: ${frames.length})`,
  );
  await screenshot(page, "tracking-payment-declined");
}

async function axeViolations(page) {
  await page.addScriptTag({ path: path.resolve(import.meta.dirname, "../node_modules/axe-core/axe.min.js") });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"] } }),
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}

/** axe-core finds no serious WCAG 2.1 AA problem on the shop, a tracking page or /ops, light or dark. */
export async function accessibility(page, base, env) {
  await page.goto(`${base}/ops`);
  await page.getByLabel("Admin password").waitFor();
  const signInForm = await axeViolations(page);
  assert.deepEqual(signInForm, [], `sign-in form: ${signInForm.join("\n")}`);
  await signIn(page, base, env.ADMIN_PASSWORD);
  await openShop(page, base);
  await page.getByRole("button", { name: "Add Pizza Margherita to cart" }).click();
  await page.getByRole("button", { name: /Place order/ }).click(); // show the inline errors too
  await page.getByText("Enter your name").waitFor();
  const orderId = await page.evaluate(async () => {
    const r = await fetch("/function/place-order", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: { name: "Axe", address: "1 Audit Way" }, items: [{ sku: "SID-FRIE", quantity: 1 }] }),
    });
    return (await r.json()).order_id;
  });
  const found = [];
  for (const theme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: theme });
    await page.evaluate((t) => {
      localStorage.setItem("theme", t);
      document.documentElement.classList.toggle("dark", t === "dark");
    }, theme);
    for (const where of ["/", `/orders/${orderId}`, "/ops"]) {
      if (where !== "/" || theme === "dark") {
        await page.goto(`${base}${where}`);
        await page.locator("main h1").first().waitFor();
        await page.waitForTimeout(500); // let the data arrive; axe checks what is on screen
      }
      for (const v of await axeViolations(page)) found.push(`${theme} ${where}: ${v}`);
    }
  }
  assert.deepEqual(found, [], found.join("\n"));
}

async function tabTo(page, matches, limit = 80) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(matches)) return;
  }
  throw new Error(`not reachable with Tab: ${matches}`);
}

/** Everything from the menu to a placed order works with the keyboard alone. */
export async function keyboard(page, base) {
  await openShop(page, base);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
  await tabTo(page, () => document.activeElement?.getAttribute("aria-label") === "Add Pizza Margherita to cart");
  await page.keyboard.press("Enter");
  await page.getByLabel("Quantity of Pizza Margherita").waitFor();
  await tabTo(page, () => document.activeElement?.id === "field-customer-name");
  await page.keyboard.type("Ada Lovelace");
  await page.keyboard.press("Tab");
  await page.keyboard.type("12 Analytical Engine Row");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/orders\/[0-9a-f]{32}$/);
  await page.getByTestId("order-status").waitFor();
}

/** The operations view links to the stack's Prometheus, and the link opens it. */
export async function prometheus_link(page, base, env) {
  await signIn(page, base, env.ADMIN_PASSWORD);
  const link = page.getByTestId("prometheus-link");
  await link.waitFor({ timeout: 20_000 });
  const href = await link.getAttribute("href");
  assert.equal(href, env.PROMETHEUS_URL);
  await page.goto(href);
  await page.waitForFunction(() => document.title.includes("Prometheus"), null, { timeout: 20_000 });
}

/** The header's API link opens the reference page: every call, its security, and the feeds' messages. */
export async function api_reference(page, base) {
  await openShop(page, base);
  await page.getByRole("link", { name: "API" }).click();
  await page.waitForURL(`${base}/api/reference`);
  const placeOrder = page.locator("#operations-Ordering-placeOrder");
  await placeOrder.waitFor({ timeout: 20_000 });
  for (const path of ["/function/menu", "/function/order-status/{order_id}", "/function/ops-summary", "/function/dead-letters/{id}/replay"]) {
    assert.equal(await page.getByText(path, { exact: true }).count() > 0, true, `${path} is not on the reference page`);
  }
  // Operator calls show the padlock of their basic-auth requirement.
  await page.locator("#operations-Operations-opsSummary .authorization__btn").waitFor();
  await placeOrder.locator(".opblock-summary").click();
  await placeOrder.getByText("Idempotency-Key").first().waitFor();
  for (const status of ["201", "409", "413", "415", "422"]) {
    assert.equal(await placeOrder.locator(`tr.response[data-code="${status}"]`).count(), 1, `place-order's ${status} is not documented`);
  }
  await page.locator("section.models").getByText("NotifyMessage", { exact: true }).waitFor();
  await screenshot(page, "api-reference");
}
