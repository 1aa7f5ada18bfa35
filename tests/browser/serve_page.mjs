// Drives the `facegen serve` page in headless chromium and checks what a visitor sees:
// a face decodes, a reload shows another, the truncation slider re-renders it, the
// download and permalink work, and nothing is loaded from another origin.
// Usage: node serve_page.mjs --url http://127.0.0.1:PORT/ [--chromium /usr/bin/chromium]
//                            [--screenshot out.png] [--seed N]
// Prints a JSON summary; exits 1 naming each check that failed.
import { parseArgs } from "node:util";
import puppeteer from "puppeteer-core";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    screenshot: { type: "string" },
    seed: { type: "string" },
  },
});
if (!args.url) {
  console.error("usage: node serve_page.mjs --url http://127.0.0.1:PORT/ [--chromium PATH] [--screenshot PNG] [--seed N]");
  process.exit(2);
}

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
const timeout = 30000;

// What the page shows now: the seed, the image URL, and a hash of its decoded pixels.
async function faceState(page) {
  return page.evaluate(() => {
    const img = document.getElementById("face");
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let hash = 2166136261;
    for (let i = 0; i < pixels.length; ++i) hash = Math.imul(hash ^ pixels[i], 16777619) >>> 0;
    return {
      seed: document.getElementById("seed").textContent,
      src: img.src,
      width: img.naturalWidth,
      hash,
      psi: document.getElementById("psi").value,
    };
  });
}

async function waitForFace(page, previousSrc = "") {
  await page.waitForFunction((previous) => {
    const img = document.getElementById("face");
    // Settled: decoded, nothing in flight, and showing the slider's psi.
    return img.src && img.src !== previous && img.complete && img.naturalWidth > 0 &&
      document.getElementById("frame").getAttribute("aria-busy") === "false" &&
      img.dataset.psi === document.getElementById("psi").value &&
      /^\d+$/.test(document.getElementById("seed").textContent);
  }, { timeout }, previousSrc);
  return faceState(page);
}

const browser = await puppeteer.launch({
  executablePath: args.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  timeout,
});
const summary = {};
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 960, height: 640 });
  const origin = new URL(args.url).origin;
  const offsite = [];
  const errors = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol !== "blob:" && url.protocol !== "data:" && url.origin !== origin) offsite.push(request.url());
  });
  page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
  page.on("pageerror", (error) => errors.push(error.message));

  await page.goto(args.url, { waitUntil: "load", timeout });
  const first = await waitForFace(page);
  check(first.width > 0, "the face did not decode");
  await page.reload({ waitUntil: "load", timeout });
  const second = await waitForFace(page);
  check(second.seed !== first.seed, `a reload showed the same seed ${first.seed}`);
  summary.reload = { first: first.seed, second: second.seed };

  // The truncation slider, moved as a visitor would: keyboard on the focused range.
  await page.focus("#psi");
  for (let i = 0; i < 10; ++i) await page.keyboard.press("ArrowLeft");
  const moved = await waitForFace(page, second.src);
  check(moved.psi !== second.psi, `the slider did not move (psi ${moved.psi})`);
  check(moved.seed === second.seed, "moving the slider changed the seed");
  check(moved.hash !== second.hash, "moving the slider did not change the pixels");
  summary.slider = { psi_before: second.psi, psi_after: moved.psi, hash_before: second.hash, hash_after: moved.hash };

  const download = await page.$eval("#download", (a) => ({ href: a.href, name: a.download }));
  check(download.href === moved.src, "the download link is not the face shown");
  check(download.name === `facegen-seed${moved.seed}-psi${Number(moved.psi).toFixed(2)}.png`,
        `download file name ${download.name}`);
  const labelled = await page.evaluate(async (href) => {
    const bytes = new Uint8Array(await (await fetch(href)).arrayBuffer());
    return new TextDecoder("latin1").decode(bytes).includes("trainedAlgorithmicMedia");
  }, download.href);
  check(labelled, "the downloaded PNG carries no AI-generated label");

  // The detection panel judges the face shown: generated, with the watermark among its reasons.
  if (await page.$eval("#detect-panel", (panel) => !panel.hidden)) {
    await page.click("#check-face");
    await page.waitForFunction(() => ["generated", "no sign of generation", "error"].includes(
      document.getElementById("detect-verdict").dataset.verdict), { timeout });
    const detection = await page.evaluate(() => ({
      verdict: document.getElementById("detect-verdict").dataset.verdict,
      reasons: [...document.querySelectorAll("#detect-reasons li")].map((li) => li.textContent),
    }));
    check(detection.verdict === "generated", `the detection panel said ${detection.verdict} of a generated face`);
    check(detection.reasons.some((r) => r.includes("watermark")), "the detection panel gave no watermark reason");
    summary.detection = detection;
  } else {
    summary.detection = "not built";
  }

  const permalink = await page.$eval("#permalink", (a) => a.href);
  check(permalink.includes(`seed=${moved.seed}`), `permalink ${permalink} does not name seed ${moved.seed}`);
  await page.goto(permalink, { waitUntil: "load", timeout });
  const linked = await waitForFace(page);
  check(linked.seed === moved.seed && linked.hash === moved.hash, "the permalink does not show the same face");
  summary.permalink = permalink;

  if (args.screenshot) {
    if (args.seed) {
      await page.goto(new URL(`/?seed=${args.seed}`, args.url).href, { waitUntil: "load", timeout });
      await waitForFace(page);
    }
    await page.screenshot({ path: args.screenshot });
    summary.screenshot = args.screenshot;
  }
  check(offsite.length === 0, `requests to other origins: ${offsite.join(", ")}`);
  check(errors.length === 0, `console errors: ${errors.join(" | ")}`);
} catch (error) {
  failures.push(`error: ${error.message}`);
} finally {
  await browser.close();
}
summary.failures = failures;
console.log(JSON.stringify(summary, null, 2));
process.exit(failures.length === 0 ? 0 : 1);
