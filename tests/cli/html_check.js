#!/usr/bin/env node
/* html_check.js - open a page written by `agenttrace html` in Debian's
 * headless Chromium (through playwright-core, no browser download) and
 * report, as one JSON object on stdout, what a person would see:
 *
 *   node html_check.js PAGE.html OUT_PREFIX [SPAN_ID]
 *
 * {"console_errors": [...], "page_errors": [...], "requests": [non-file
 *  URLs the page tried to load], "rows": N, "failed_rows": N,
 *  "orphan_marks": N, "trace_heads": N, "detail": {"title", "text",
 *  "roles": [...]}, "detail_after_close_hidden": bool,
 *  "screenshots": [paths]}
 *
 * A click on the row of SPAN_ID (default: the first failed row, else the
 * first row) must open the detail panel; screenshots OUT_PREFIX.png (the
 * waterfall) and OUT_PREFIX-detail.png (with the detail open) are saved.
 */
'use strict';

const path = require('path');
const fs = require('fs');
const os = require('os');
const { chromium } = require('playwright-core');

async function main() {
  const [page_path, out_prefix, span_id] = process.argv.slice(2);
  if (!page_path || !out_prefix) {
    process.stderr.write('usage: html_check.js PAGE.html OUT_PREFIX [SPAN_ID]\n');
    process.exit(2);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'at-chromium-'));
  const result = {
    console_errors: [], page_errors: [], requests: [], rows: 0,
    failed_rows: 0, orphan_marks: 0, trace_heads: 0, detail: null,
    screenshots: [],
  };
  /* A persistent context is how playwright passes --user-data-dir. */
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run',
           '--disable-dev-shm-usage'],
  });
  try {
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') result.console_errors.push(msg.text());
    });
    page.on('pageerror', (err) => result.page_errors.push(String(err)));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      result.requests.push(url);
      return route.abort();
    });
    await page.goto('file://' + path.resolve(page_path), { waitUntil: 'load' });
    try {
      await page.waitForSelector('body[data-ready="1"]', { state: 'attached', timeout: 10000 });
    } catch (e) {
      result.page_errors.push('page never became ready: ' + e.message.split('\n')[0]);
      process.stdout.write(JSON.stringify(result) + '\n');
      return;
    }
    result.rows = await page.locator('.span-row').count();
    result.failed_rows = await page.locator('.span-row.failed').count();
    result.orphan_marks = await page.locator('.span-row .orphan').count();
    result.trace_heads = await page.locator('.trace-head').count();
    result.summary = await page.locator('#summary').innerText();
    const shot = out_prefix + '.png';
    await page.screenshot({ path: shot, fullPage: false });
    result.screenshots.push(shot);

    let row;
    if (span_id) {
      const index = await page.evaluate((id) => {
        const spans = JSON.parse(document.getElementById('spans').textContent);
        return spans.findIndex((s) => s.s === id);
      }, span_id);
      row = page.locator('.span-row[data-i="' + index + '"]');
    } else if (result.failed_rows > 0) {
      row = page.locator('.span-row.failed').first();
    } else {
      row = page.locator('.span-row').first();
    }
    if (result.rows > 0) {
      await row.locator('.name').click();
      await page.waitForSelector('#detail:not([hidden])', { timeout: 5000 });
      result.detail = {
        title: await page.locator('#detail h2').innerText(),
        text: await page.locator('#detail-body').innerText(),
        roles: await page.locator('#detail .msg').evaluateAll(
          (els) => els.map((e) => e.dataset.role)),
        selected: await page.locator('.span-row.selected').count(),
      };
      const dshot = out_prefix + '-detail.png';
      await page.screenshot({ path: dshot, fullPage: false });
      result.screenshots.push(dshot);
      await page.keyboard.press('Escape');
      result.detail_after_close_hidden = await page.locator('#detail').isHidden();
      /* The "failed only" filter leaves failed rows and their ancestors. */
      await page.locator('#errors-only').check();
      result.rows_visible_errors_only = await page.locator('.span-row:not(.hidden)').count();
    }
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write('html_check: ' + (err && err.stack || err) + '\n');
  process.exit(1);
});
