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
