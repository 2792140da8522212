// The operations view in headless Chromium (Debian's, through playwright-core), for `bench`:
//   node bench/ops_page.mjs <base-url> load <n>  → one JSON line {"load_ms": [...]}: /ops opened n
//                                                 times, each in a fresh context (empty cache) that
//                                                 holds a signed-in session, timed until the
//                                                 pipeline's counts and the stock show
//   node bench/ops_page.mjs <base-url> hold      → prints "ready" once /ops shows its counts, then
//                                                 keeps the tab open (live feed and refreshes) until
//                                                 stdin closes
// OPS_PASSWORD is the admin password, typed into the view's sign-in when it asks for one.
import { launch } from "../frontend/e2e/browser.mjs";

const [base, mode = "load", n = "3"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node bench/ops_page.mjs <base-url> load <n> | hold");
  process.exit(2);
}
const TIMEOUT = { timeout: 60_000 };

/** /ops in `page` until its counts and stock show, signing in if it asks; milliseconds taken. */
async function openOps(page) {
  const started = Date.now();
  await page.goto(`${base}/ops`, { waitUntil: "commit" });
  const counts = page.getByTestId("count-PENDING");
  const password = page.locator('input[type="password"]').first();
  await Promise.race([counts.waitFor(TIMEOUT), password.waitFor(TIMEOUT)]);
  if (!(await counts.isVisible())) {
    await password.fill(process.env.OPS_PASSWORD ?? "");
    await password.press("Enter");
    await counts.waitFor(TIMEOUT);
  }
  await page.getByRole("meter").first().waitFor(TIMEOUT);
  return Date.now() - started;
}

/** The cookies of a signed-in session, so timed loads measure the view, not the sign-in. */
async function signedInState(browser) {
  const context = await browser.newContext();
  await openOps(await context.newPage());
  const state = await context.storageState();
  await context.close();
  return state;
}

const browser = await launch();
try {
  const storageState = await signedInState(browser);
  if (mode === "hold") {
    const context = await browser.newContext({ storageState });
    await openOps(await context.newPage());
    console.log("ready");
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on("end", resolve).on("close", resolve));
  } else {
    const loads = [];
    for (let i = 0; i < Number(n); i++) {
      const context = await browser.newContext({ storageState });
      loads.push(await openOps(await context.newPage()));
      await context.close();
    }
    console.log(JSON.stringify({ load_ms: loads }));
  }
} finally {
  await browser.close();
}
