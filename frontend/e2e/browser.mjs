// Debian's chromium driven by playwright-core; never a browser downloaded by a test tool.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// The machine has no network but loopback: keep Chromium from calling home.
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A headless Chromium with a fresh profile (playwright makes a new user-data-dir per launch). */
export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** Where screenshots go (test-artifacts/ at the repo root unless ARTIFACTS_DIR says otherwise). */
export function artifactsDir() {
  const dir = process.env.ARTIFACTS_DIR ?? path.resolve(import.meta.dirname, "../../test-artifacts");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page, name) {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
  return file;
}
