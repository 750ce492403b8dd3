// The result panels in a real headless Chromium: the walkthrough's endpoints and chains without
// a click, the nftables switch, a trace that ends at a server pod, a finding with its REJECT
// rule, diagnostics that move the caret, a reload and a share link that keep the work, and no
// request to another host while using all of it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { WALKTHROUGH, baseUrl, launch, openApp, problems, snapshot, withPage } from './harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Waits until every panel shows the computation of the editor's current text. */
async function settled(page) {
  await page.waitForFunction(() => {
    const ids = [...document.querySelectorAll('.results [data-computed]')].map((p) => p.dataset.computed);
    return ids.length >= 4 && ids.every((id) => id === ids[0]);
  });
}

/** The title (explanation) of every chain name in the Rules panel, by chain name. */
async function chainTitles(page) {
  return page.locator('#panel-rules .chain > summary .chain-name').evaluateAll((names) =>
    Object.fromEntries(names.map((n) => [n.textContent, n.getAttribute('title') ?? ''])),
  );
}

test('the walkthrough shows both server pods as endpoints and its KUBE-SVC and KUBE-SEP chains without a click', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await settled(page);
    const port = page.locator('#panel-endpoints .service-port[data-port="default/service:http"]');
    await port.waitFor();
    const used = await port.locator('tr.endpoint.in .pod').allInnerTexts();
    assert.deepEqual(used.sort(), ['server-pod-1', 'server-pod-2']);

    const titles = await chainTitles(page);
    const svc = Object.entries(titles).filter(([name, title]) => name.startsWith('KUBE-SVC-') && title.includes('default/service:http'));
    assert.equal(svc.length, 1, JSON.stringify(titles));
    const [svcName] = svc[0];
    const svcChain = page.locator(`#panel-rules details.chain[data-chain="${svcName}"]`);
    assert.equal(await svcChain.evaluate((d) => d.open), true, 'the Service chain is open');
    assert.equal(await svcChain.isVisible(), true);
    // Its two KUBE-SEP chains hang under it, open, each explained as an endpoint of the Service.
    const seps = svcChain.locator('details.chain[data-chain^="KUBE-SEP-"]');
    assert.equal(await seps.count(), 2);
    for (const title of await seps.locator(':scope > summary .chain-name').evaluateAll((n) => n.map((e) => e.title))) {
      assert.match(title, /^endpoint 10\.244\.\d+\.\d+:80 of default\/service:http/);
    }
    assert.equal(await seps.first().isVisible(), true);
    assert.deepEqual(problems(log), []);
  });
});

test('switching to nftables shows the nft transaction and its service chain', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await settled(page);
    await page.locator('label[for="mode-nftables"]').click();
    await page.locator('#panel-rules[data-mode="nftables"]').waitFor();
    const text = await page.locator('#rules-text').textContent();
    assert.match(text, /^add table ip kube-proxy \{ comment "rules for kube-proxy" ; \}/);
    assert.match(text, /add chain ip kube-proxy service-[A-Z0-9]+-default\/service\/tcp\/http\b/);
    const titles = await chainTitles(page);
    assert.ok(
      Object.entries(titles).some(([name, title]) => name.endsWith('default/service/tcp/http') && title.includes('default/service:http')),
      JSON.stringify(titles),
    );
    await page.locator('#rules-full > summary').click();
    await snapshot(page, t, 'nft text');
    // Back to iptables: the restore input again.
    await page.locator('label[for="mode-iptables"]').click();
    await page.locator('#panel-rules[data-mode="iptables"]').waitFor();
    assert.match(await page.locator('#rules-text').textContent(), /^\*(filter|nat)\n/);
    assert.deepEqual(problems(log), []);
  });
});

test('switching to IPVS shows kube-ipvs0, the virtual server with both server pods, and the ipset rules', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await settled(page);
    await page.locator('label[for="mode-ipvs"]').click();
    await page.locator('#panel-rules[data-mode="ipvs"]').waitFor();
    const text = await page.locator('#rules-text').textContent();
    assert.match(text, /^# kube-ipvs0 addresses\n/);
    assert.match(text, /\n10\.100\.253\.115\/32\n/);
    assert.match(text, /\nTCP {2}10\.100\.253\.115:8080 rr\n(  -> 10\.244\.[12]\.2:80 +Masq +1 +0 +0\n){2}/);
    assert.match(text, /-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT\n/);
    const titles = await chainTitles(page);
    assert.ok('KUBE-SERVICES' in titles, JSON.stringify(titles));
    assert.match(titles['KUBE-IPVS-FILTER'] ?? '', /ping/);
    await page.locator('#rules-full > summary').click();
    await snapshot(page, t, 'ipvs rules');
    assert.deepEqual(problems(log), []);
  });
});

test('the trace from pod-client to service:8080 ends at a server pod, and the rules it matched are highlighted', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#trace-from').fill('pod-client');
    await page.locator('#trace-to').fill('service:8080');
    await settled(page);
    const verdict = page.locator('#trace-verdict');
    await verdict.waitFor();
    assert.match(await verdict.innerText(), /^DNAT .*pod server-pod-[12] \(10\.244\.\d+\.\d+:80\)/);
    assert.match(await page.locator('#trace-destinations .pod').innerText(), /^server-pod-[12]$/);
    assert.ok(
      (await page.locator('.hop.matched .hop-action').allInnerTexts()).some((a) => /DNAT to 10\.244\./.test(a)),
    );
    // All branches: both pods, half each.
    await page.locator('#trace-all').check();
    await page.locator('#trace-destinations tr.destination').nth(1).waitFor();
    const shares = await page.locator('#trace-destinations tr.destination').evaluateAll((rows) =>
      rows.map((r) => `${r.querySelector('.pod').textContent} ${r.lastElementChild.textContent}`).sort(),
    );
    assert.deepEqual(shares, ['server-pod-1 50%', 'server-pod-2 50%']);
    // The trace ran on the client's node; the Rules panel shows that node's matched rules.
    const node = await page.locator('#node-select').inputValue();
    if ((await page.locator('#trace-result .trace-route').innerText()).includes(`traced on node ${node} `)) {
      assert.ok((await page.locator('#panel-rules .rule.acted').count()) > 0);
      assert.ok((await page.locator('#panel-rules details.chain.acted[data-chain^="KUBE-SVC-"]').count()) === 1);
    }
    assert.deepEqual(problems(log), []);
  });
});

test('a selector that matches nothing shows the finding and a REJECT rule', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    const edited = WALKTHROUGH.replace('app.kubernetes.io/name: server\n  ports', 'app.kubernetes.io/name: nobody\n  ports');
    assert.notEqual(edited, WALKTHROUGH);
    await page.locator('#manifest-editor').fill(edited);
    await settled(page);
    const finding = page.locator('#panel-endpoints .service-port[data-port="default/service:http"] .finding');
    await finding.first().waitFor();
    assert.match(await finding.first().innerText(), /matches no pod/);
    assert.match(
      await page.locator('#rules-text').textContent(),
      /-A KUBE-SERVICES .*"default\/service:http has no endpoints".* -j REJECT/,
    );
    await page.locator('#trace-to').fill('service:8080');
    await page.locator('#trace-verdict.reject').waitFor();
    assert.deepEqual(problems(log), []);
  });
});

test('clicking a located diagnostic puts the caret at its line and column', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    const broken = WALKTHROUGH.replace('\n  selector:\n', '\n  selector\n');
    await page.locator('#manifest-editor').fill(broken);
    const jump = page.locator('#diagnostics .diagnostic.error .headline.jump');
    await jump.first().waitFor();
    assert.match(await jump.first().innerText(), /^line 48, column 27: /);
    await page.locator('#manifest-editor').evaluate((area) => area.setSelectionRange(0, 0));
    await jump.first().click();
    const caret = await page.locator('#manifest-editor').evaluate((area) => ({
      focused: document.activeElement === area,
      start: area.selectionStart,
      end: area.selectionEnd,
    }));
    const lines = broken.split('\n');
    const expected = lines.slice(0, 47).reduce((n, l) => n + l.length + 1, 0) + 26;
    assert.deepEqual(caret, { focused: true, start: expected, end: expected });
    assert.match(await page.locator('#editor-status').innerText(), /^Line 48, column 27/);
    // The gutter marks the line.
    assert.equal(await page.locator('.gutter .ln.mark-error').innerText(), '48');
    assert.deepEqual(problems(log), []);
  });
});

test('edits and selections survive a reload', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    const edited = `${WALKTHROUGH}# my note\n`;
    await page.locator('#manifest-editor').fill(edited);
    await page.locator('label[for="mode-nftables"]').click();
    await page.locator('#trace-to').fill('server-pod-1:80');
    await page.locator('#panel-rules[data-mode="nftables"]').waitFor();
    await page.reload();
    await page.locator('#manifest-editor').waitFor();
    assert.equal(await page.locator('#manifest-editor').inputValue(), edited);
    assert.equal(await page.locator('#mode-nftables').isChecked(), true);
    assert.equal(await page.locator('#trace-to').inputValue(), 'server-pod-1:80');
    assert.equal(await page.locator('#notice').count(), 0, 'no notice on a plain reload');
    assert.deepEqual(problems(log), []);
  });
});

test('a share link carries the work to a fresh browser, and a damaged one keeps the saved work', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    const edited = `${WALKTHROUGH}# shared note\n`;
    await page.locator('#manifest-editor').fill(edited);
    await page.locator('#share').click();
    const url = await page.locator('#share-url').inputValue();
    assert.ok(url.startsWith(baseUrl), url);
    assert.match(new URL(url).hash, /^#v2:[A-Za-z0-9_-]+$/);
    assert.equal(await page.evaluate(() => location.href), url, 'the address bar holds the link');
    await snapshot(page, t, 'dialog');

    const other = await browser.newContext();
    try {
      const fresh = await other.newPage();
      await fresh.goto(url);
      await fresh.locator('#manifest-editor').waitFor();
      assert.equal(await fresh.locator('#manifest-editor').inputValue(), edited);

      await fresh.locator('#manifest-editor').fill('apiVersion: v1\nkind: Pod\nmetadata: {name: mine}\n');
      // Once the work differs from the link, the address bar forgets the link.
      await fresh.waitForFunction(() => location.hash === '');
      await fresh.goto(`${baseUrl}#v1:damaged!`);
      await fresh.reload();
      await fresh.locator('#notice.error').waitFor();
      assert.match(await fresh.locator('#notice').innerText(), /cannot be opened/);
      assert.equal(await fresh.locator('#manifest-editor').inputValue(), 'apiVersion: v1\nkind: Pod\nmetadata: {name: mine}\n');
    } finally {
      await other.close();
    }
    assert.deepEqual(problems(log), []);
  });
});

test('using every panel, example and the share dialog makes no request to another host', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#open-examples').click();
    await page.locator('#examples .open-example[data-example="nodeport"]').click();
    await settled(page);
    await page.locator('label[for="mode-nftables"]').click();
    await page.locator('#node-select').selectOption('minikube-m02');
    await page.locator('#trace-from').fill('192.168.49.1');
    await page.locator('#trace-to').fill('192.168.49.2:30080');
    await page.locator('#trace-verdict').waitFor();
    await page.locator('#share').click();
    await page.locator('#share-url').waitFor();
    await page.waitForLoadState('networkidle');
    const origin = new URL(baseUrl).origin;
    const foreign = log.requests.filter((url) => !url.startsWith('blob:') && new URL(url).origin !== origin);
    assert.deepEqual(foreign, []);
    assert.deepEqual(problems(log), []);
  });
});
