// The Cluster trace panel in a real headless Chromium: the walkthrough's curl is delivered to a
// server pod; "stop kube-proxy" makes it time out while a pod is still reached directly; and
// "ping the ClusterIP" times out in iptables mode but is refused at once in nftables mode.

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
    await openApp(page);
    await page.locator('#ct-preset-curl-service').click();
    await outcome(page, 'delivered');
    await page.locator('#ct-preset-stop-kube-proxy').click();
    assert.match(await outcome(page, 'timeout'), /^timeout/);
    assert.equal(await page.locator('#ct-stopped-all').isChecked(), true);
    await page.locator('#ct-preset-curl-pod').click();
    assert.match(await page.locator('#ct-to').inputValue(), /^pod\/default\/server-pod-[12]:80$/);
    assert.match(await outcome(page, 'delivered'), /^delivered to default\/server-pod-[12]$/);
    // Only the client's node without kube-proxy is enough to break the Service.
    await page.locator('#ct-preset-curl-service').click();
    await outcome(page, 'delivered');
    await page.locator('#ct-stopped-minikube').check();
    await outcome(page, 'timeout');
    assert.deepEqual(problems(log), []);
  });
});

test('a ping to the ClusterIP times out in iptables mode and is refused at once in nftables mode', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#ct-preset-ping-cluster-ip').click();
    assert.equal(await page.locator('#ct-to').inputValue(), '10.100.253.115');
    assert.equal(await page.locator('#ct-protocol').inputValue(), 'icmp');
    await outcome(page, 'timeout');
    await page.locator('#ct-mode').selectOption('nftables');
    assert.match(await outcome(page, 'refused'), /Connection refused/);
    assert.match(await page.locator('#ct-result .trace-route').innerText(), /icmp · nftables mode$/);
    assert.deepEqual(problems(log), []);
  });
});

test('the path diagram draws the curl across both nodes with the DNAT marked, and the histogram counts both server pods', async (t) => {
  await withPage(browser, t, async (page, log) => {
    await openApp(page);
    await page.locator('#ct-preset-curl-service').click();
    await outcome(page, 'delivered');
    const diagram = page.locator('#ct-diagram svg');
    await diagram.waitFor();
    assert.equal(await diagram.locator('.pd-pod.pd-client').getAttribute('data-pod'), 'pod-client');
    assert.match(await diagram.locator('.pd-pod.pd-server').getAttribute('data-pod'), /^server-pod-[12]$/);
    assert.equal(await diagram.locator('.pd-mark').count(), 1);
    assert.ok((await diagram.locator('.pd-arrow.pd-request').count()) >= 3);
    assert.ok((await diagram.locator('.pd-arrow.pd-reply').count()) >= 3);
    const nodes = await diagram.locator('.pd-node').evaluateAll((ns) => ns.map((n) => n.dataset.node));
    assert.ok(nodes.includes('minikube') && nodes.includes('minikube-m02'), nodes.join(','));
    // Counted on demand; 100 connections by default: both server pods answer, 100 in all.
    assert.equal(await page.locator('#ct-histogram-bars').count(), 0);
    await page.locator('#ct-counting').check();
    await page.locator('#ct-histogram-bars').waitFor();
    const bars = await page.locator('#ct-histogram-bars .histogram-bar').evaluateAll((rows) =>
      rows.map((r) => [r.dataset.label, Number(r.dataset.count)]));
    assert.deepEqual(bars.map(([label]) => label), ['default/server-pod-1', 'default/server-pod-2']);
    assert.equal(bars.reduce((sum, [, n]) => sum + n, 0), 100);
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
