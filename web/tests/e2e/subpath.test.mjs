// The release build published under a sub-path (`cargo xtask test` serves a copy of dist/ at
// KPSIM_E2E_SUBPATH_URL, e.g. http://127.0.0.1:PORT/workshop/kpsim/, on a server where nothing
// else exists): every file loads relative to the page, the share link points back to the
// sub-path, and once loaded the page keeps working with the network off.
//
// There is no service worker, so "offline" means: after the first load the page needs no
// network at all (a reload while offline is not expected to work).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { WALKTHROUGH, WALKTHROUGH_OBJECTS, launch, objectRows, openApp, problems, snapshot, withPage } from './harness.mjs';

/** The page under its sub-path, ending in `/`. */
const subpathUrl = process.env.KPSIM_E2E_SUBPATH_URL;
if (!subpathUrl) {
  throw new Error('KPSIM_E2E_SUBPATH_URL is not set: run the browser tests with `cargo xtask test`');
}

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Requests to the network (blob: and data: URLs are made inside the page). */
function networkRequests(log) {
  return log.requests.filter((url) => !/^(blob|data):/.test(url));
}

test('served under a sub-path, the page fetches only files under it and lists the walkthrough', async (t) => {
  assert.match(new URL(subpathUrl).pathname, /^\/[^/]+\/.+\/$/, 'the sub-path is nested');
  await withPage(browser, t, async (page, log) => {
    await openApp(page, subpathUrl);
    await page.locator('#objects tbody tr').nth(3).waitFor();
    assert.deepEqual(await objectRows(page), WALKTHROUGH_OBJECTS);
    assert.equal(await page.locator('#loading').isVisible(), false, 'loading indicator still shown');
    await page.waitForLoadState('networkidle');
    const outside = networkRequests(log).filter((url) => !url.startsWith(subpathUrl));
    assert.deepEqual(outside, []);
    // The recording works: the loader, the app's JS and WASM, the style sheet and the icon.
    for (const file of [/\/boot\.js$/, /\/kpsim-web-[0-9a-f]+\.js$/, /_bg\.wasm$/, /\.css$/, /\.svg$/]) {
      assert.ok(log.requests.some((url) => file.test(url)), `no request matching ${file} in ${log.requests}`);
    }
    assert.deepEqual(problems(log), []);
  });
});

test('under a sub-path, …/index.html works as well as the directory URL', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page, `${subpathUrl}index.html`);
    await page.locator('#objects tbody tr').nth(3).waitFor();
    assert.deepEqual(await objectRows(page), WALKTHROUGH_OBJECTS);
    const outside = networkRequests(log).filter((url) => !url.startsWith(subpathUrl));
    assert.deepEqual(outside, []);
    assert.deepEqual(problems(log), []);
  });
});

test('a share link made under a sub-path opens the shared work under that sub-path', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page, subpathUrl);
    const edited = `${WALKTHROUGH}# shared from a sub-path\n`;
    await page.locator('#manifest-editor').fill(edited);
    await page.locator('#share').click();
    const url = await page.locator('#share-url').inputValue();
    assert.ok(url.startsWith(`${subpathUrl}#`), url);

    const other = await browser.newContext();
    try {
      const fresh = await other.newPage();
      await fresh.goto(url);
      await fresh.locator('#manifest-editor').waitFor();
      assert.equal(await fresh.locator('#manifest-editor').inputValue(), edited);
    } finally {
      await other.close();
    }
    assert.deepEqual(problems(log), []);
  });
});

test('once loaded, the page keeps working offline: edits and examples recompute with no request', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page, subpathUrl);
    await page.locator('#objects tbody tr').nth(3).waitFor();
    await page.waitForLoadState('networkidle');
    await page.context().setOffline(true);
    const before = networkRequests(log).length;

    await page.locator('#manifest-editor').fill(`${WALKTHROUGH}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\n`);
    await page.locator('#objects tbody tr').nth(4).waitFor();
    assert.deepEqual(await objectRows(page), [...WALKTHROUGH_OBJECTS, 'Node n1']);
    await page.locator('#open-examples').click();
    await page.locator('#examples .open-example[data-example="nodeport"]').click();
    await page.locator('#panel-rules .chain[data-chain="KUBE-NODEPORTS"]').first().waitFor();
    await snapshot(page, t, 'offline example');

    assert.deepEqual(networkRequests(log).slice(before), [], 'requests made while offline');
    assert.deepEqual(problems(log), []);
  });
});
