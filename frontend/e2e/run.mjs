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
// axe-core is injected as an inline script, which the UI's Content-Security-Policy refuses.
const bypassCSP = name === "accessibility";
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light", bypassCSP });
const page = await context.newPage();
const refusedByPolicy = [];
page.on("console", (msg) => {
  if (msg.type() !== "error") return;
  console.log(`browser console: ${msg.text()}`);
  if (/Content Security Policy/i.test(msg.text())) refusedByPolicy.push(msg.text());
});
let failed = false;
try {
  await scenarios[name](page, base, process.env);
  // The app itself must work under the policy: nothing of it may be refused.
  if (refusedByPolicy.length) throw new Error(`refused by the Content-Security-Policy: ${refusedByPolicy[0]}`);
  console.log(`PASS ${name}`);
} catch (error) {
  failed = true;
  console.error(`FAIL ${name}: ${error.stack ?? error}`);
  await screenshot(page, `${name}-failure`).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
