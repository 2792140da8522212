// `node e2e/run.mjs <scenario>` with BASE_URL set: runs one scenario in a fresh headless Chromium.
import * as scenarios from "./scenarios.mjs";
import { launch, screenshot } from "./browser.mjs";

const name = process.argv[2];
const base = process.env.BASE_URL;
if (!base || !scenarios[name]) {
  console.error(`usage: BASE_URL=http://127.0.0.1:3000 node e2e/run.mjs <${Object.keys(scenarios).join("|")}>`);
  process.exit(2);
}
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
const page = await context.newPage();
page.on("console", (msg) => {
  if (msg.type() === "error") console.log(`browser console: ${msg.text()}`);
});
let failed = false;
try {
  await scenarios[name](page, base, process.env);
  console.log(`PASS ${name}`);
} catch (error) {
  failed = true;
  console.error(`FAIL ${name}: ${error.stack ?? error}`);
  await screenshot(page, `${name}-failure`).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
