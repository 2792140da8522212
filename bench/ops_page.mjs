// The operations view in headless Chromium (Debian's, through playwright-core), for `bench`:
//   node bench/ops_page.mjs <base-url> load <n>  → one JSON line {"load_ms": [...]}: /ops opened n
//                                                 times, each in a fresh context (nothing cached),
//                                                 timed until the pipeline's counts and the stock show
//   node bench/ops_page.mjs <base-url> hold      → prints "ready" once /ops shows its counts, then
//                                                 keeps the tab open (live feed and refreshes) until
//                                                 stdin closes
// OPS_PASSWORD, when set, is typed into the view's sign-in if it asks for one.
import { launch } from "../frontend/e2e/browser.mjs";

const [base, mode = "load", n = "3"] = process.argv.slice(2);
if (!base) {
  console.error("usage: node bench/ops_page.mjs <base-url> load <n> | hold");
  process.exit(2);
}

async function signInIfAsked(page) {
  const password = process.env.OPS_PASSWORD;
  const field = page.locator('input[type="password"]').first();
  if (!password || !(await field.isVisible().catch(() => false))) return;
  await field.fill(password);
  await field.press("Enter");
}

async function openOps(context) {
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(`${base}/ops`, { waitUntil: "commit" });
  const counts = page.getByTestId("count-PENDING");
  await Promise.race([counts.waitFor({ timeout: 60_000 }), page.locator('input[type="password"]').first().waitFor({ timeout: 60_000 })]);
  if (!(await counts.isVisible())) {
    await signInIfAsked(page);
    await counts.waitFor({ timeout: 60_000 });
  }
  await page.getByRole("meter").first().waitFor({ timeout: 60_000 });
  return { page, ms: Date.now() - started };
}

const browser = await launch();
try {
  if (mode === "hold") {
    const context = await browser.newContext();
    await openOps(context);
    console.log("ready");
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on("end", resolve).on("close", resolve));
  } else {
    const loads = [];
    for (let i = 0; i < Number(n); i++) {
      const context = await browser.newContext();
      loads.push((await openOps(context)).ms);
      await context.close();
    }
    console.log(JSON.stringify({ load_ms: loads }));
  }
} finally {
  await browser.close();
}
