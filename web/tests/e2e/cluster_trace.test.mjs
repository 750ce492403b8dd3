// The Cluster trace panel in a real headless Chromium: the walkthrough's curl is delivered to a
// server pod; "stop kube-proxy" makes it time out while a pod is still reached directly;
// "ping the ClusterIP" times out in iptables mode but is refused at once in nftables and IPVS
// mode, where the curl is delivered too;
// kube-proxy stopped after a sync keeps its stale DNAT to a deleted pod until resynced; pods
// marked not ready leave the Service (refused once none is left); a node without the CNI's
// routes reaches only its own pods; and the rules a connection went through are highlighted in
// the Rules panel, one click (or key) away from its hop.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { launch, openApp, problems, withPage } from './harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Opens the page, clicks "curl the Service" and returns the delivered headline. */
async function curlTheService(page) {
  await openApp(page);
  await page.locator('#ct-preset-curl-service').click();
  return outcome(page, 'delivered');
}

/** Waits for the panel to show `outcome` and returns its headline. */
async function outcome(page, expected) {
  await page.locator(`#ct-result[data-outcome="${expected}"]`).waitFor();
  return page.locator('#ct-outcome').innerText();
}

test('the walkthrough curl across the cluster is delivered to a server pod through a kube-proxy DNAT', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#ct-preset-curl-service').click();
    assert.equal(await page.locator('#ct-from').inputValue(), 'pod-client');
    assert.equal(await page.locator('#ct-to').inputValue(), 'service:8080');
    assert.match(await outcome(page, 'delivered'), /^delivered to default\/server-pod-[12]$/);
    const badges = await page.locator('#ct-hops .ct-hop').evaluateAll((hops) => hops.map((h) => h.dataset.actor));
    assert.equal(badges[0], 'app');
    assert.ok(badges.includes('kube-proxy') && badges.includes('CNI'), badges.join(','));
    assert.match(await page.locator('#ct-hops .hop-nat').first().innerText(), /10\.100\.253\.115:8080 tcp → .*10\.244\./);
    assert.deepEqual(problems(log), []);
  });
});

test('with kube-proxy stopped the Service times out, but a server pod is still reached directly', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await curlTheService(page);
    await page.locator('#ct-preset-stop-kube-proxy').click();
    assert.match(await outcome(page, 'timeout'), /^timeout/);
    assert.equal(await page.locator('#ct-stopped-all').isChecked(), true);
    await page.locator('#ct-preset-curl-pod').click();
    assert.match(await page.locator('#ct-to').inputValue(), /^pod\/default\/server-pod-[12]:80$/);
    assert.match(await outcome(page, 'delivered'), /^delivered to default\/server-pod-[12]$/);
    // Only the client's node without kube-proxy is enough to break the Service.
    await page.locator('#ct-preset-curl-service').click();
    await outcome(page, 'delivered');
    await page.locator('#ct-kube-proxy-minikube').selectOption('never-ran');
    await outcome(page, 'timeout');
    assert.deepEqual(problems(log), []);
  });
});

test('a ping to the ClusterIP times out in iptables mode and is refused at once in nftables and IPVS mode', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#ct-preset-ping-cluster-ip').click();
    assert.equal(await page.locator('#ct-to').inputValue(), '10.100.253.115');
    assert.equal(await page.locator('#ct-protocol').inputValue(), 'icmp');
    await outcome(page, 'timeout');
    await page.locator('#ct-mode').selectOption('nftables');
    assert.match(await outcome(page, 'refused'), /Connection refused/);
    assert.match(await page.locator('#ct-result .trace-route').innerText(), /icmp · nftables mode$/);
    // IPVS: the node holds the ClusterIP on kube-ipvs0; KUBE-IPVS-FILTER rejects the ping.
    await page.locator('#ct-mode').selectOption('ipvs');
    await page.locator('#ct-result .trace-route', { hasText: /icmp · ipvs mode$/ }).waitFor();
    assert.match(await outcome(page, 'refused'), /Connection refused/);
    assert.deepEqual(problems(log), []);
  });
});

test('in IPVS mode the curl to the Service is delivered to a server pod, and stopping kube-proxy makes it time out', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#ct-preset-curl-service').click();
    await page.locator('#ct-mode').selectOption('ipvs');
    await page.locator('#ct-result .trace-route', { hasText: /ipvs mode$/ }).waitFor();
    await outcome(page, 'delivered');
    await page.locator('#ct-kube-proxy-minikube').selectOption('never-ran');
    await outcome(page, 'timeout');
    assert.deepEqual(problems(log), []);
  });
});

test('the path diagram draws the curl across both nodes with the DNAT marked, and the histogram counts both server pods', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await curlTheService(page);
    const diagram = page.locator('#ct-diagram svg');
    await diagram.waitFor();
    assert.equal(await diagram.locator('.pd-pod.pd-client').getAttribute('data-pod'), 'pod-client');
    assert.match(await diagram.locator('.pd-pod.pd-server').getAttribute('data-pod'), /^server-pod-[12]$/);
    assert.equal(await diagram.locator('.pd-mark').count(), 1);
    assert.ok((await diagram.locator('.pd-arrow.pd-request').count()) >= 3);
    assert.ok((await diagram.locator('.pd-arrow.pd-reply').count()) >= 3);
    const nodes = await diagram.locator('.pd-node').evaluateAll((ns) => ns.map((n) => n.dataset.node));
    assert.ok(nodes.includes('minikube') && nodes.includes('minikube-m02'), nodes.join(','));
    // Always shown, exact from every branch; 100 connections by default: 50 to each server pod.
    await page.locator('#ct-histogram-bars').waitFor();
    const bars = await page.locator('#ct-histogram-bars .histogram-bar').evaluateAll((rows) =>
      rows.map((r) => [r.dataset.label, Number(r.dataset.count)]));
    assert.deepEqual(bars, [['default/server-pod-1', 50], ['default/server-pod-2', 50]]);
    assert.equal(await page.locator('#ct-histogram-summary').getAttribute('data-method'), 'exact');
    await page.locator('#ct-connections').fill('10');
    await page.locator('#ct-histogram-summary', { hasText: /^10 connections/ }).waitFor();
    // Without kube-proxy the request leaves through the gateway and nothing is marked.
    await page.locator('#ct-preset-stop-kube-proxy').click();
    await outcome(page, 'timeout');
    await diagram.locator('.pd-outside').waitFor();
    assert.equal(await diagram.locator('.pd-mark').count(), 0);
    assert.equal(await diagram.locator('.pd-arrow.pd-reply').count(), 0);
    assert.deepEqual(problems(log), []);
  });
});

test('kube-proxy stopped after sync keeps DNATing to a deleted server pod until it resyncs', async (t) => {
  await withPage(browser, t, async (page, log) => {
    const delivered = await curlTheService(page);
    const gone = delivered.replace(/^delivered to default\//, '');
    // Freezing alone changes nothing: the rules are what kube-proxy would write anyway.
    await page.locator('#ct-kube-proxy-minikube').selectOption('stopped-after-sync');
    const status = page.locator('.kube-proxy-node[data-node="minikube"] .frozen-status');
    assert.match(await status.innerText(), /^frozen at edit \d+ · the manifests have not changed since$/);
    await outcome(page, 'delivered');
    assert.match(await page.locator('#rules-frozen').innerText(), /stopped after a sync/);
    assert.match(await page.locator('#node-select option[value="minikube"]').innerText(), /rules frozen at edit/);

    // The walkthrough's experiment: every node frozen, then the pod the curl went to deleted.
    await page.locator('#ct-preset-freeze-then-delete-pod').click();
    const text = await page.locator('#manifest-editor').inputValue();
    assert.ok(!text.includes(`name: ${gone}\n`), `${gone} is deleted from the editor`);
    assert.equal(await page.locator('.kube-proxy-node[data-kube-proxy="stopped-after-sync"]').count(), 3);
    await page.locator('#ct-result:not([data-outcome="delivered"])').waitFor();
    assert.match(await status.innerText(), /^frozen at edit \d+ · 1 edit since · \d+ lines differ$/);
    // The Rules panel shows what is on the node: the deleted pod is still a DNAT target.
    const rules = await page.locator('#rules-text').textContent();
    // The DNAT hop reads `src → ClusterIP:8080 tcp → src → POD:80 tcp`.
    const natIp = (await page.locator('#ct-hops .hop-nat').first().innerText()).match(/(10\.244\.\d+\.\d+):80 /)[1];
    assert.ok(rules.includes(`--to-destination ${natIp}:80`), `the frozen rules still send to ${natIp}`);

    // A reload keeps the frozen rules; a resync of the client's node catches up with the deletion.
    await page.reload();
    await page.locator('#manifest-editor').waitFor();
    await page.locator('#ct-result:not([data-outcome="delivered"])').waitFor();
    await page.locator('#ct-resync-minikube').click();
    assert.match(await outcome(page, 'delivered'), /^delivered to default\/server-pod-[12]$/);
    assert.ok(!(await page.locator('#ct-outcome').innerText()).includes(gone));
    assert.match(await status.innerText(), /the manifests have not changed since/);
    await page.locator('#ct-kube-proxy-minikube').selectOption('running');
    assert.equal(await page.locator('#rules-frozen').count(), 0);
    assert.deepEqual(problems(log), []);
  });
});

test('the rules the cluster trace acted by are highlighted, and a hop jumps to its rule', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await curlTheService(page);
    assert.ok((await page.locator('#panel-rules li.rule.hop-acted').count()) >= 1);
    assert.match(await page.locator('#node-select option[value="minikube"]').getAttribute('data-mark'), /traced: \d+ rule/);
    // Looking at another node, the DNAT hop's button brings the client's node back and focuses the rule.
    await page.locator('#node-select').selectOption('minikube-m02');
    await page.locator('#panel-rules[data-computed]').waitFor();
    const dnatHop = page.locator('#ct-hops .ct-hop', { hasText: 'DNAT' }).first();
    const button = dnatHop.locator('.hop-show-rule');
    const hop = await button.getAttribute('data-hop');
    // Keyboard only: focus the button and press Enter.
    await button.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => document.activeElement?.matches(`#panel-rules li.rule[data-hops~="${n}"]`), hop);
    assert.equal(await page.locator('#node-select').inputValue(), 'minikube');
    const focused = await page.evaluate(() => document.activeElement.textContent);
    assert.match(focused, /DNAT/);
    assert.match(focused, new RegExp(`^${hop}`), 'the rule carries its hop number');
    // A closed chain is opened for the jump.
    const sep = page.locator(`#panel-rules li.rule[data-hops~="${hop}"]`).locator('xpath=ancestor::details[1]');
    const key = await sep.getAttribute('data-chain');
    await sep.locator(':scope > summary').click();
    await page.locator(`#panel-rules details[data-chain="${key}"]:not([open])`).waitFor();
    await button.click();
    await page.waitForFunction((n) => document.activeElement?.matches(`#panel-rules li.rule[data-hops~="${n}"]`), hop);
    assert.deepEqual(problems(log), []);
  });
});

test('pods marked not ready leave the Service, and a node without routes reaches only its own pods', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await curlTheService(page);
    await page.locator('#ct-all').check();
    await page.locator('#ct-not-ready-default-server-pod-1').check();
    await page.waitForFunction(() =>
      document.querySelector('#ct-outcome')?.innerText.trim() === 'delivered to default/server-pod-2'
      && !/server-pod-1/.test(document.querySelector('#ct-flows')?.innerText ?? ''));
    assert.match(await page.locator('#rules-kube-proxy-note').innerText(), /default\/server-pod-1 not ready/);
    assert.equal(await page.locator('#ct-hops .hop-show-rule').count(), 0);
    await page.locator('#ct-not-ready-default-server-pod-2').check();
    assert.match(await outcome(page, 'refused'), /Connection refused/);
    // Ready again, then the client's node loses its routes to the other nodes' pods.
    await page.locator('#ct-not-ready-default-server-pod-1').uncheck();
    await page.locator('#ct-not-ready-default-server-pod-2').uncheck();
    await outcome(page, 'delivered');
    await page.locator('#ct-no-routes-minikube').check();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#ct-flows .flow')].some((f) => !/\bdelivered\b/.test(f.innerText)));
    assert.deepEqual(problems(log), []);
  });
});
