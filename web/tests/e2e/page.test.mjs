// The playground page in a real headless Chromium, against the release build: it loads,
// lists the walkthrough's objects, shows located errors for broken YAML, never renders user
// text as HTML, says so when its WASM cannot load, and talks to no other host.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { WALKTHROUGH, WALKTHROUGH_OBJECTS, baseUrl, launch, objectRows, openApp, problems, snapshot, withPage } from './harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the page loads with the walkthrough and lists its four objects', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#objects tbody tr').nth(3).waitFor();
    assert.deepEqual(await objectRows(page), WALKTHROUGH_OBJECTS);
    assert.equal(await page.locator('#manifest-editor').inputValue(), WALKTHROUGH);
    assert.equal(await page.locator('#loading').isVisible(), false, 'loading indicator still shown');
    assert.match(await page.locator('#privacy-note').innerText(), /nothing you type .* leaves/i);
    assert.deepEqual(problems(log), []);
  });
});

test('broken YAML shows a located error instead of the list, and fixing it brings the list back', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    // `selector` loses its colon: line 47 becomes a scalar, so the mapping on line 48 is invalid.
    const broken = WALKTHROUGH.replace('\n  selector:\n', '\n  selector\n');
    assert.notEqual(broken, WALKTHROUGH);
    await page.locator('#manifest-editor').fill(broken);
    const error = page.locator('#diagnostics .diagnostic.error .headline');
    await error.first().waitFor();
    assert.deepEqual(await error.allInnerTexts(), [
      'line 48, column 27: document 4: mapping values are not allowed in this context',
    ]);
    assert.equal(await page.locator('#objects').count(), 0, 'the object list is still shown');
    await snapshot(page, t, 'broken');

    await page.locator('#manifest-editor').fill(WALKTHROUGH);
    await page.locator('#objects tbody tr').nth(3).waitFor();
    assert.equal(await page.locator('#diagnostics').count(), 0);
    assert.deepEqual(await objectRows(page), WALKTHROUGH_OBJECTS);
    assert.deepEqual(problems(log), []);
  });
});

test('user text is shown as text, never interpreted as HTML', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    const name = '<img src=x onerror="window.injected=1">';
    await page
      .locator('#manifest-editor')
      .fill(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: '${name}'\n`);
    await page.locator('#objects tbody tr').first().waitFor();
    assert.deepEqual(await objectRows(page), [`Pod default/${name}`]);
    assert.equal(await page.locator('#objects img').count(), 0);
    assert.equal(await page.evaluate(() => window.injected), undefined);
    assert.deepEqual(problems(log), []);
  });
});

test('no request goes to any host but the page’s own', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#manifest-editor').fill(`${WALKTHROUGH}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\n`);
    await page.locator('#objects tbody tr').nth(4).waitFor();
    await page.waitForLoadState('networkidle');
    const origin = new URL(baseUrl).origin;
    const foreign = log.requests.filter((url) => new URL(url).origin !== origin);
    assert.deepEqual(foreign, []);
    // The recording works: the page's own files were seen.
    assert.ok(log.requests.some((url) => url.endsWith('.wasm')), `no .wasm in ${log.requests}`);
    assert.ok(log.requests.some((url) => url.endsWith('/boot.js')), `no boot.js in ${log.requests}`);
  });
});

test('a WASM module that cannot load shows a clear message', async (t) => {
  await withPage(
    browser,
    t,
    async (page) => {
      await page.goto(baseUrl);
      const status = page.locator('#loading.failed');
      await status.waitFor();
      assert.match(await status.innerText(), /kpsim could not start/);
      assert.equal(await page.locator('#manifest-editor').count(), 0);
    },
    { prepare: (page) => page.route('**/*.wasm', (route) => route.abort()) },
  );
});

test('the Content-Security-Policy is in force: an injected inline script does not run', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    assert.deepEqual(problems(log), [], 'the page itself needs nothing the policy forbids');
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true;';
      document.head.append(script);
      return window.inlineRan === true;
    });
    assert.equal(ran, false);
    assert.ok(
      log.console.some((line) => /Content Security Policy/.test(line)),
      `no CSP report in ${JSON.stringify(log.console)}`,
    );
  });
});
