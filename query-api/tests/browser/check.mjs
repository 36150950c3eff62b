// Drives the query-api web page and Swagger UI in Debian's headless Chromium (playwright-core
// brings no browser of its own). Usage: node check.mjs <base-url> <screenshot-dir>
// Every request to anything but the app is blocked and reported, which proves the page and
// Swagger UI work with no internet access. Prints "N passed, M failed"; exits non-zero on failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [base, shots = "."] = process.argv.slice(2);
if (!base) {
  console.error("usage: node check.mjs <base-url> <screenshot-dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const SAMPLE = "b563feb7b2b84b6test";
const origin = new URL(base).origin;
const outside = [];
const consoleErrors = [];
let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err.message.split("\n")[0]}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});

async function newPage(viewport) {
  const context = await browser.newContext({ viewport, locale: "en-US", timezoneId: "UTC" });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:")) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("console", (msg) => { if (msg.type() === "error") consoleErrors.push(`${page.url()}: ${msg.text()}`); });
  page.on("pageerror", (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
  return page;
}

try {
  const page = await newPage({ width: 1280, height: 1000 });
  await page.goto(`${base}/`);

  await check("recent orders are listed", async () => {
    await page.locator(`#recent-list button[data-uid="${SAMPLE}"]`).waitFor({ timeout: 5000 });
  });

  await check("looks up the sample order with Enter", async () => {
    await page.fill("#uid", SAMPLE);
    await page.press("#uid", "Enter");
    await page.locator(".item-brand", { hasText: "Vivienne Sabo" }).waitFor({ timeout: 5000 });
    await page.screenshot({ path: join(shots, "order-desktop.png"), fullPage: true });
    const text = await page.locator("#result").innerText();
    expect(text.includes("$18.17"), "total amount $18.17 missing");
    expect(text.includes("$3.17"), "items total $3.17 missing");
    expect(text.includes("$15.00"), "delivery cost $15.00 missing");
    expect(text.includes("Test Testov") && text.includes("Kiryat Mozkin"), `delivery missing in ${text}`);
    expect(text.includes("Mascaras"), "item name missing");
    expect(new URL(page.url()).searchParams.get("uid") === SAMPLE, "URL not updated for deep link");
  });

  await check("raw JSON toggle shows the served JSON", async () => {
    const pre = page.locator("#raw-json");
    expect(!(await pre.isVisible()), "raw JSON visible before toggling");
    await page.getByRole("button", { name: "Show raw JSON" }).click();
    await pre.waitFor({ state: "visible" });
    expect((await pre.innerText()).includes(`"order_uid": "${SAMPLE}"`), "raw JSON lacks the uid");
  });

  await check("an unknown uid says not found", async () => {
    await page.fill("#uid", "no-such-order-42");
    await page.click("#get");
    await page.getByText("Order not found").waitFor({ timeout: 5000 });
    await page.screenshot({ path: join(shots, "not-found.png") });
  });

  await check("an impossible uid is refused without a request", async () => {
    await page.fill("#uid", "bad uid!");
    await page.click("#get");
    await page.getByText("That is not an order UID").waitFor({ timeout: 5000 });
  });

  await check("clicking a recent order opens it", async () => {
    await page.locator(`#recent-list button[data-uid="${SAMPLE}"]`).click();
    await page.locator(".item-brand", { hasText: "Vivienne Sabo" }).waitFor({ timeout: 5000 });
  });

  const phone = await newPage({ width: 390, height: 844 });
  await check("deep link works at phone width without sideways scrolling", async () => {
    await phone.goto(`${base}/?uid=${SAMPLE}`);
    await phone.locator(".item-brand", { hasText: "Vivienne Sabo" }).waitFor({ timeout: 5000 });
    await phone.screenshot({ path: join(shots, "order-phone.png"), fullPage: true });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow <= 0, `page is ${overflow}px wider than the screen`);
  });

  const swagger = await newPage({ width: 1280, height: 1000 });
  await check("Swagger UI renders the operations offline", async () => {
    await swagger.goto(`${base}/swagger`);
    await swagger.locator(".opblock").first().waitFor({ timeout: 10000 });
    const text = await swagger.locator("#swagger-ui").innerText();
    for (const path of ["/order/{order_uid}", "/orders", "/readyz", "/healthz", "/metrics"]) {
      expect(text.includes(path), `operation ${path} missing`);
    }
    await swagger.screenshot({ path: join(shots, "swagger.png") });
  });

  await check("nothing was fetched from outside the app", async () => {
    expect(outside.length === 0, `outside requests: ${outside.join(", ")}`);
  });
  await check("no console errors (CSP violations included)", async () => {
    // The not-found lookup logs a failed resource (404) in Chromium's console; that one is expected.
    const unexpected = consoleErrors.filter((e) => !e.includes("404"));
    expect(unexpected.length === 0, unexpected.join(" | "));
  });
} finally {
  await browser.close();
}

console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
