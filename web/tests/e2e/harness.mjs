// Shared set-up of the browser tests: one headless Debian Chromium per test file, a fresh
// browser context per test, every request and console message recorded, and a screenshot of
// every test (taken even when the test fails).
//
// Run by `cargo xtask test`, which serves the release `dist/` and sets KPSIM_E2E_URL and
// KPSIM_E2E_SCREENSHOTS. Not responsible for building or serving the page.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// playwright-core lives in tools/node_modules (tools/package.json), not beside the tests.
const require = createRequire(new URL('../../../tools/package.json', import.meta.url));
const { chromium } = require('playwright-core');

/** The served page, e.g. `http://127.0.0.1:40123/`. */
export const baseUrl = process.env.KPSIM_E2E_URL;
if (!baseUrl) {
  throw new Error('KPSIM_E2E_URL is not set: run the browser tests with `cargo xtask test`');
}

/** The walkthrough example, as the page loads it by default, and the objects it lists. */
export const WALKTHROUGH = readFileSync(
  new URL('../../../crates/kpsim/tests/data/examples/kube-proxy.yaml', import.meta.url),
  'utf8',
);
export const WALKTHROUGH_OBJECTS = [
  'Pod default/pod-client',
  'Pod default/server-pod-1',
  'Pod default/server-pod-2',
  'Service default/service',
];

/** Where screenshots go; printed once so a person can find them. */
export const screenshotDir = resolve(
  process.env.KPSIM_E2E_SCREENSHOTS ?? new URL('./screenshots', import.meta.url).pathname,
);
mkdirSync(screenshotDir, { recursive: true });
console.log(`screenshots: ${screenshotDir}`);

/** Launches Chromium with flags that keep it off the network (Chromium's own
 * background connections fail on our machines) in a fresh temporary profile. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.KPSIM_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/**
 * Opens a fresh context and page, runs `body(page, log)`, then saves a screenshot named after
 * the test and closes the context. `log` records every request URL, console message and page
 * error of the context.
 */
export async function withPage(browser, t, body, { prepare } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const log = { requests: [], console: [], errors: [] };
  context.on('request', (request) => log.requests.push(request.url()));
  const page = await context.newPage();
  page.on('websocket', (ws) => log.requests.push(ws.url()));
  page.on('console', (message) => log.console.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => log.errors.push(String(error)));
  try {
    if (prepare) {
      await prepare(page);
    }
    await body(page, log);
  } finally {
    await snapshot(page, t).catch(() => {});
    await context.close();
  }
}

/** Saves a screenshot named after the test (and `step`, for one taken mid-test). */
export async function snapshot(page, t, step) {
  const name = step ? `${t.name} ${step}` : t.name;
  await page.screenshot({ path: join(screenshotDir, `${slug(name)}.png`), fullPage: true });
}

/** Opens the page (at `url`, by default the one served at `/`) and waits until the app has rendered. */
export async function openApp(page, url = baseUrl) {
  await page.goto(url);
  await page.locator('#manifest-editor').waitFor();
}

/** The texts of the object table's rows: `Kind namespace/name`. */
export async function objectRows(page) {
  return page.locator('#objects tbody tr').evaluateAll((rows) =>
    rows.map((row) => `${row.querySelector('.kind').textContent} ${row.querySelector('.name').textContent}`),
  );
}

/** Page errors, and console errors and warnings (CSP violations are among them). */
export function problems(log) {
  return [
    ...log.errors,
    ...log.console.filter((line) => /^(error|warning):/.test(line) || /Content Security Policy/i.test(line)),
  ];
}

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
