import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../src/store/build-store.js";
import type { StepResult } from "../../src/pipeline/types.js";
import { newBuild, serveBuildRoutes, type RoutesServer } from "../web/serve-build-routes.js";

/**
 * The build page in a real browser: Debian's Chromium (/usr/bin/chromium, installed by .ci/run),
 * driven by playwright-core, against the build routes on loopback over a real store. No GitHub.
 */

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];
const ESC = "\u001b";

let app: RoutesServer;
let browser: Browser;

beforeAll(async () => {
  app = await serveBuildRoutes();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

function writeLog(id: string, step: string, text: string): void {
  const log = app.store.openLog(id, step, (t) => t);
  log.write(text);
  log.close();
}

async function lineCount(page: Page, step: string): Promise<number> {
  return page.locator(`#log-${step} .l`).count();
}

const checkout: StepResult = {
  name: "checkout",
  state: "success",
  summary: "Checked out 0123456",
  exitCode: 0,
  durationMs: 420,
};
const failingTest: StepResult = {
  name: "test",
  state: "failure",
  summary: "1 failure in 2 tests",
  exitCode: 1,
  durationMs: 2300,
  testCounts: { run: 2, failures: 1, errors: 0, skipped: 0, expectedFailures: 0, unexpectedSuccesses: 0 },
  tests: [
    { id: "test_calc.AddTest.test_adds", outcome: "pass", durationMs: 1 },
    {
      id: "test_calc.AddTest.test_broken",
      outcome: "fail",
      durationMs: 2,
      message: "AssertionError: 4 != 5",
      traceback:
        'Traceback (most recent call last):\n  File "test_calc.py", line 13, in test_broken\n    self.assertEqual(add(2, 2), 5)\nAssertionError: 4 != 5',
      file: "test_calc.py",
      line: 13,
    },
  ],
};
const checkStep: StepResult = {
  name: "check",
  state: "success",
  summary: "1 type error (not enforced)",
  exitCode: 1,
  durationMs: 3100,
  enforced: false,
  diagnostics: [
    {
      file: "calc.py",
      line: 6,
      column: 12,
      severity: "warning",
      rule: "reportReturnType",
      message: 'Type "int" is not assignable to return type "str"',
      syntax: false,
    },
  ],
};

describe("the build page in Chromium", () => {
  it("follows a running build: new lines, a new step, step states and the final state, without a reload", async () => {
    const build: BuildRecord = app.store.create(newBuild({ steps: [checkout] }));
    writeLog(build.id, "checkout", "Cloning into '/work/pyci-build'...\nHEAD is now at 0123456 Make add() add\n");
    const test = app.store.openLog(build.id, "test", (t) => t);
    test.write(`${ESC}[1mtest_adds${ESC}[0m (test_calc.AddTest.test_adds) ... adding two and three\n`);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${app.url}/builds/${build.id}`);
    await page.locator("main[data-ready]").waitFor();
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    expect(await page.locator("#build-state").textContent()).toBe("running");
    expect(await page.locator("#log-test h3 .state").textContent()).toBe("running");

    // new lines of a running step appear, coloured and numbered on from the page's last line
    test.write(`${ESC}[32mok${ESC}[0m\ntest_broken (test_calc.AddTest.test_broken) ... this one fails on purpose\n`);
    await page.locator("#Ltest-3").waitFor({ timeout: 5000 });
    expect(await page.locator("#Ltest-2 .a-f2").textContent()).toBe("ok");
    expect(await page.locator("#Ltest-3").textContent()).toBe(
      "3test_broken (test_calc.AddTest.test_broken) ... this one fails on purpose",
    );
    test.write(`${ESC}[31mFAIL: test_broken (test_calc.AddTest.test_broken)${ESC}[0m\n`);
    await page.locator("#Ltest-4 .a-f1").waitFor({ timeout: 5000 });

    // a step that starts gets its section and its row
    const check = app.store.openLog(build.id, "check", (t) => t);
    check.write("pyright 1.1.414\n");
    await page.locator("#Lcheck-1").waitFor({ timeout: 5000 });
    expect(await page.locator('#steps tr[data-step="check"] .state').textContent()).toBe("running");

    // a saved result updates the step without a reload
    check.write(`${ESC}[33m/work/calc.py:6:12 - warning: Type "int" is not assignable to return type "str"${ESC}[0m\n`);
    check.close();
    build.steps.push(checkStep);
    app.store.save(build);
    await page.waitForFunction(() => document.querySelector("#log-check h3 .state")?.textContent === "success");
    expect(await page.locator('#steps tr[data-step="check"] .dur').textContent()).toBe("3.1 s");
    expect(await page.locator("#build-state").textContent()).toBe("running");

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}build-page-running.png` });

    // the end: the final state, test results and diagnostics, still the same page
    test.write("Ran 2 tests in 0.002s\n\nFAILED (failures=1)\n");
    test.close();
    build.steps.push(failingTest);
    build.state = "failure";
    build.finishedAt = new Date().toISOString();
    app.store.save(build);
    await page.locator("main[data-finished]").waitFor({ timeout: 5000 });
    expect(await page.locator("#build-state").textContent()).toBe("failure");
    expect(await page.locator("#log-test h3 .state").textContent()).toBe("failure");
    expect(await page.locator("#failures").textContent()).toContain("AssertionError: 4 != 5");
    expect(await page.locator("#diagnostics").textContent()).toContain("reportReturnType");
    expect(await page.locator("#Ltest-7").textContent()).toBe("7FAILED (failures=1)");
    expect(await page.title()).toContain(": failure · pyci");
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);

    await page.screenshot({ path: `${ARTIFACTS}build-page.png`, fullPage: true });
    await page.close();
  });

  it("opens a 20 MB log at its tail at once, and loads earlier output on demand", async () => {
    const build: BuildRecord = app.store.create(
      newBuild({ state: "failure", steps: [checkout, failingTest], finishedAt: new Date().toISOString() }),
    );
    const lines = 215_000;
    const body = Array.from(
      { length: lines },
      (_, i) =>
        `${ESC}[36m${String(i + 1).padStart(6, "0")}${ESC}[0m ${"lorem ipsum dolor sit amet ".repeat(3)}${i % 1000 === 0 ? "🐍" : ""}\n`,
    ).join("");
    writeLog(build.id, "test", body);
    const size = Buffer.byteLength(body);
    expect(size).toBeGreaterThan(20 * 1024 * 1024);

    const html = await (await fetch(`${app.url}/builds/${build.id}`)).arrayBuffer();
    expect(html.byteLength).toBeLessThan(1024 * 1024);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const started = Date.now();
    await page.goto(`${app.url}/builds/${build.id}#Ltest-${lines}`, { waitUntil: "domcontentloaded" });
    const last = page.locator(`#Ltest-${lines}`);
    expect(await last.count()).toBe(1);
    const loadedMs = Date.now() - started;
    const timing = await page.evaluate(() => {
      const [nav] = performance.getEntriesByType("navigation") as PerformanceNavigationTiming[];
      return {
        response: Math.round(nav!.responseEnd - nav!.requestStart),
        dom: Math.round(nav!.domContentLoadedEventEnd - nav!.startTime),
      };
    });
    await expect.poll(() => last.isVisible()).toBe(true);
    expect(await last.textContent()).toContain(`${lines}`.padStart(6, "0"));
    const inDom = await lineCount(page, "test");
    expect(inDom).toBeLessThanOrEqual(2000);
    const firstShown = Number((await page.locator("#log-test .l").first().getAttribute("id"))!.split("-")[1]);
    expect(firstShown).toBe(lines - inDom + 1);

    await page.locator("main[data-ready]").waitFor();
    await page.locator("#log-test .earlier a").click();
    await page.locator(`#Ltest-${firstShown - 1}`).waitFor({ timeout: 5000 });
    const afterOne = await lineCount(page, "test");
    expect(afterOne).toBeGreaterThan(inDom);
    expect(afterOne).toBeLessThanOrEqual(2 * 2000);
    // the loaded lines continue the numbering and the text, with no gap or overlap
    const earliest = Number((await page.locator("#log-test .l").first().getAttribute("id"))!.split("-")[1]);
    expect(earliest).toBe(lines - afterOne + 1);
    expect(await page.locator(`#Ltest-${earliest}`).textContent()).toContain(`${earliest}`.padStart(6, "0"));
    expect(await page.locator(`#Ltest-${firstShown - 1} .a-f6`).textContent()).toBe(
      `${firstShown - 1}`.padStart(6, "0"),
    );
    expect(await page.locator("#log-test .earlier small").textContent()).toContain(`before line ${earliest}`);
    console.info(
      `20 MB log: page ${(html.byteLength / 1024).toFixed(0)} KiB, last line in the DOM after ${loadedMs} ms (navigation: response ${timing.response} ms, DOMContentLoaded ${timing.dom} ms), ${inDom} of ${lines} lines in the DOM, then ${afterOne}`,
    );
    await page.close();
  });

  it("continues a line that arrives in pieces", async () => {
    const build: BuildRecord = app.store.create(newBuild());
    const test = app.store.openLog(build.id, "test", (t) => t);
    test.write("before\n");
    const page = await browser.newPage();
    await page.goto(`${app.url}/builds/${build.id}`);
    await page.locator("main[data-ready]").waitFor();
    // a line longer than 64 KiB is stored (and sent) before its end
    test.write(`${ESC}[35m${"x".repeat(70_000)}`);
    await page.waitForFunction(() => (document.querySelector("#Ltest-2")?.textContent?.length ?? 0) > 70_000);
    test.write(`${"y".repeat(10)}${ESC}[0m\nafter\n`);
    await page.locator("#Ltest-3").waitFor({ timeout: 5000 });
    expect(await page.locator("#Ltest-2").textContent()).toBe(`2${"x".repeat(70_000)}${"y".repeat(10)}`);
    expect((await page.locator("#Ltest-2 .a-f5").allTextContents()).join("")).toBe(
      `${"x".repeat(70_000)}${"y".repeat(10)}`,
    );
    expect(await page.locator("#Ltest-3").textContent()).toBe("3after");
    test.close();
    await page.close();
  });

  it("renders ANSI colours as spans, and line numbers are anchors", async () => {
    const build: BuildRecord = app.store.create(
      newBuild({ state: "success", steps: [checkout], finishedAt: new Date().toISOString() }),
    );
    writeLog(
      build.id,
      "checkout",
      [
        ...Array.from({ length: 80 }, (_, i) => `plain line ${i + 1}`),
        `${ESC}[1;31mbold red${ESC}[0m and ${ESC}[38;5;208morange${ESC}[0m`,
        ...Array.from({ length: 200 }, (_, i) => `more ${i + 82}`),
        "",
      ].join("\n"),
    );
    const page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
    await page.goto(`${app.url}/builds/${build.id}`);
    const red = page.locator("#Lcheckout-81 span.a-b.a-f1");
    expect(await red.textContent()).toBe("bold red");
    expect(await red.evaluate((e) => [getComputedStyle(e).color, getComputedStyle(e).fontWeight])).toEqual([
      "rgb(255, 123, 114)",
      "700",
    ]);
    expect(await page.locator("#Lcheckout-81 span[style]").evaluate((e) => getComputedStyle(e).color)).toBe(
      "rgb(255, 135, 0)",
    );

    await page.locator('a[href="#Lcheckout-3"]').click();
    expect(await page.evaluate(() => location.hash)).toBe("#Lcheckout-3");
    expect(await page.evaluate(() => document.querySelector(":target")?.id)).toBe("Lcheckout-3");
    // a shared link to a line opens the page there
    await page.goto(`${app.url}/builds/${build.id}#Lcheckout-70`);
    await expect
      .poll(() => page.locator("#Lcheckout-70").evaluate((e) => e.getBoundingClientRect().top))
      .toBeLessThan(50);
    expect(await page.locator("#Lcheckout-70").evaluate((e) => getComputedStyle(e).backgroundColor)).toBe(
      "rgb(58, 45, 0)",
    );
    await page.close();
  });

  it("works without JavaScript: steps, logs, failures, and earlier output by link", async () => {
    const build: BuildRecord = app.store.create(
      newBuild({ state: "failure", steps: [checkout, checkStep, failingTest], finishedAt: new Date().toISOString() }),
    );
    writeLog(build.id, "checkout", "HEAD is now at 0123456\n");
    writeLog(build.id, "check", `${ESC}[33mcalc.py:6:12 - warning${ESC}[0m\n`);
    writeLog(build.id, "test", Array.from({ length: 5000 }, (_, i) => `test output line ${i + 1}\n`).join(""));
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${app.url}/builds/${build.id}`);
    expect(await page.locator("#steps tbody tr").count()).toBe(3);
    expect(await page.locator('#steps tr[data-step="test"] .state').textContent()).toBe("failure");
    expect(await page.locator("#failures").textContent()).toContain('File "test_calc.py", line 13, in test_broken');
    expect(await page.locator("#diagnostics").textContent()).toContain("calc.py:6:12");
    expect(await page.locator("#Lcheck-1 .a-f3").textContent()).toBe("calc.py:6:12 - warning");
    expect(await page.locator("#Ltest-5000").textContent()).toBe("5000test output line 5000");
    expect(await page.locator("#Ltest-3000").count()).toBe(0);
    await page.locator("#log-test .earlier a").click();
    await page.waitForURL(/before=/);
    expect(await page.locator("#Ltest-3000").textContent()).toBe("3000test output line 3000");
    expect(await page.locator("#Ltest-5000").count()).toBe(0);
    await page.locator("#log-test .later a").click();
    await page.waitForURL((url) => !url.search);
    expect(await page.locator("#Ltest-5000").count()).toBe(1);
    await context.close();
  });
});
