// Drives the `facegen serve` page in headless chromium and checks what a visitor sees:
// a face decodes, a reload shows another, the truncation slider re-renders it, the
// attribute sliders edit it (and their permalink restores them), the download and
// permalink work, an uploaded photo (--photo) is projected and its sliders edit it, and
// nothing is loaded from another origin.
// Usage: node serve_page.mjs --url http://127.0.0.1:PORT/ [--chromium /usr/bin/chromium]
//                            [--photo face.jpg] [--screenshot out.png] [--seed N] [--edit age=+10,...]
// Prints a JSON summary; exits 1 naming each check that failed.
import { parseArgs } from "node:util";
import puppeteer from "puppeteer-core";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    screenshot: { type: "string" },
    seed: { type: "string" },
    edit: { type: "string" },
    photo: { type: "string" },
  },
});
if (!args.url) {
  console.error("usage: node serve_page.mjs --url http://127.0.0.1:PORT/ [--chromium PATH] [--screenshot PNG] [--seed N] [--edit E]");
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
      edit: img.dataset.edit || "",
    };
  });
}

// `photo`: the face should be an uploaded photo's projection, which has no seed.
async function waitForFace(page, previousSrc = "", photo = false) {
  await page.waitForFunction((previous, photo) => {
    const img = document.getElementById("face");
    // The edit the attribute sliders ask for, and the one of the face shown, as sorted
    // "name=value" sets (the page writes them in the server's order, not the panel's).
    const canonical = (pairs) => pairs.filter(([, value]) => Number(value) !== 0)
      .map(([name, value]) => `${name}=${Number(value)}`).sort().join(",");
    const wanted = canonical([...document.querySelectorAll("#edit-panel input[type=range]")]
      .map((input) => [input.dataset.attribute, input.value]));
    const shown = canonical((img.dataset.edit || "").split(",").filter((p) => p).map((p) => p.split("=")));
    // Settled: decoded, nothing in flight, and showing the sliders' psi and edit.
    return img.src && img.src !== previous && img.complete && img.naturalWidth > 0 &&
      document.getElementById("frame").getAttribute("aria-busy") === "false" &&
      img.dataset.psi === document.getElementById("psi").value && shown === wanted &&
      (photo ? document.getElementById("seed").textContent === "your photo"
             : /^\d+$/.test(document.getElementById("seed").textContent));
  }, { timeout }, previousSrc, photo);
  return faceState(page);
}

// Moves a range input as a script can: sets its value and sends the input event a drag sends.
async function setRange(page, selector, value) {
  await page.$eval(selector, (input, v) => {
    input.value = v;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }, String(value));
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

  // The attribute sliders: offered exactly when /v1/models says edits are (the bundled
  // model ships its directions), or hidden with the reason.
  const edits = await page.evaluate(async () => (await (await fetch("/v1/models")).json()).edits);
  const panel = await page.evaluate(() => ({
    shown: !document.getElementById("edit-panel").hidden,
    sliders: [...document.querySelectorAll("#edit-panel input[type=range]")].map((input) => ({
      name: input.dataset.attribute, min: input.min, max: input.max, value: input.value,
      labelled: input.labels.length === 1 && input.labels[0].textContent.trim() !== "",
    })),
    unavailable: document.getElementById("edit-unavailable").hidden ? "" : document.getElementById("edit-unavailable").textContent,
  }));
  if (edits.available) {
    check(panel.shown, "edits are available but the Attributes panel is hidden");
    check(panel.sliders.length === edits.attributes.length,
          `${panel.sliders.length} sliders for ${edits.attributes.length} attributes`);
    check(panel.sliders.every((s) => s.labelled && Number(s.value) === 0), "a slider has no label or does not start at 0");
    const age = edits.attributes.find((a) => a.name === "age");
    const ageSlider = panel.sliders.find((s) => s.name === "age");
    check(ageSlider && Number(ageSlider.min) === age.slider.min && Number(ageSlider.max) === age.slider.max,
          `the age slider's range ${JSON.stringify(ageSlider)} is not the server's ${JSON.stringify(age.slider)}`);

    // Ten years older, as a visitor dragging the slider would send it.
    const ageValue = age.slider.step * Math.round(10 / age.slider.step);
    await setRange(page, "#edit-age", ageValue);
    const older = await waitForFace(page, moved.src);
    const expected = `age=+${ageValue}`;
    check(older.edit === expected, `the face shown has edit '${older.edit}', not '${expected}'`);
    check(older.seed === moved.seed && older.psi === moved.psi, "moving the age slider changed the seed or psi");
    check(older.hash !== moved.hash, "moving the age slider did not change the pixels");
    const olderPage = await page.evaluate(() => ({
      output: document.getElementById("edit-age-value").textContent,
      permalink: document.getElementById("permalink").href,
      download: document.getElementById("download").download,
      reset: !document.getElementById("edit-reset").disabled,
    }));
    check(olderPage.output === `+${ageValue} years`, `the age slider shows '${olderPage.output}'`);
    check(new URL(olderPage.permalink).searchParams.get("edit") === expected,
          `permalink ${olderPage.permalink} does not carry edit=${expected}`);
    check(olderPage.download.includes(`age+${ageValue}`), `download file name ${olderPage.download} does not name the edit`);
    check(olderPage.reset, "the Reset button is disabled with an edit");
    // The face shown is the one the API serves for that seed, psi and edit (both decoded alike).
    const [shownHash, servedHash] = await page.evaluate(async (query) => {
      const hashOf = async (url) => {
        const bitmap = await createImageBitmap(await (await fetch(url, { cache: "no-store" })).blob());
        const canvas = document.createElement("canvas");
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
        const context = canvas.getContext("2d");
        context.drawImage(bitmap, 0, 0);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        let hash = 2166136261;
        for (let i = 0; i < pixels.length; ++i) hash = Math.imul(hash ^ pixels[i], 16777619) >>> 0;
        return hash;
      };
      return [await hashOf(document.getElementById("face").src), await hashOf("/v1/face.png?" + query)];
    }, new URLSearchParams({ seed: older.seed, psi: older.psi, edit: expected }).toString());
    check(shownHash === servedHash, "the edited face differs from /v1/face.png's for the same seed, psi and edit");

    // The permalink restores the slider and the face.
    await page.goto(olderPage.permalink, { waitUntil: "load", timeout });
    const restored = await waitForFace(page);
    const restoredAge = await page.$eval("#edit-age", (input) => input.value);
    check(Number(restoredAge) === ageValue, `the permalink set the age slider to ${restoredAge}, not ${ageValue}`);
    check(restored.seed === older.seed && restored.hash === older.hash, "the edit permalink does not show the same face");

    // Reset: every slider back to 0, the unedited face again.
    await page.click("#edit-reset");
    const reset = await waitForFace(page, restored.src);
    check(reset.edit === "" && reset.hash === moved.hash, `Reset did not bring back the unedited face (edit '${reset.edit}')`);
    check(!new URL(await page.$eval("#permalink", (a) => a.href)).searchParams.has("edit"), "the permalink keeps an edit after Reset");
    summary.edits = { sliders: panel.sliders.length, edit: expected, hash_before: moved.hash, hash_after: older.hash,
                      permalink: olderPage.permalink, restored_age: restoredAge };
  } else {
    check(!panel.shown && panel.unavailable.includes(edits.why), `edits are not available (${edits.why}) but the page does not say so`);
    summary.edits = "not offered: " + edits.why;
  }

  const permalink = await page.$eval("#permalink", (a) => a.href);
  check(permalink.includes(`seed=${moved.seed}`), `permalink ${permalink} does not name seed ${moved.seed}`);
  await page.goto(permalink, { waitUntil: "load", timeout });
  const linked = await waitForFace(page);
  check(linked.seed === moved.seed && linked.hash === moved.hash, "the permalink does not show the same face");
  summary.permalink = permalink;

  // "Your photo": offered exactly when /v1/models says the server projects uploads; an
  // upload becomes the face shown, without a permalink, and the sliders edit it.
  const projection = await page.evaluate(async () => (await (await fetch("/v1/models")).json()).projection);
  const photoOffered = await page.$eval("#photo-panel", (panel) => !panel.hidden);
  check(photoOffered === Boolean(projection && projection.available),
        `the photo panel is ${photoOffered ? "shown" : "hidden"} but /v1/models says projection ${JSON.stringify(projection)}`);
  if (args.photo && photoOffered) {
    const input = await page.$("#photo-file");
    await input.uploadFile(args.photo);
    await page.waitForFunction(() => ["projected", "error"].includes(document.getElementById("photo-status").dataset.state),
                               { timeout: 120000 });
    const status = await page.$eval("#photo-status", (p) => ({ state: p.dataset.state, text: p.textContent }));
    check(status.state === "projected", `the photo was not projected: ${status.text}`);
    const projected = await waitForFace(page, linked.src, true);
    check(projected.hash !== linked.hash, "the projected photo shows the same pixels as the face before it");
    const target = await page.$eval("#photo-target", (img) => ({ width: img.naturalWidth, shown: !img.closest("[hidden]") }));
    check(target.width > 0 && target.shown, "the aligned photo is not shown beside the status");
    check(await page.$eval("#permalink", (a) => a.hidden), "a projected photo offers a permalink (it is kept nowhere)");
    summary.photo = { status: status.text, hash: projected.hash };
    if (edits.available) {
      const age = edits.attributes.find((a) => a.name === "age");
      const ageValue = age.slider.step * Math.round(10 / age.slider.step);
      await setRange(page, "#edit-age", ageValue);
      const older = await waitForFace(page, projected.src, true);
      check(older.edit === `age=+${ageValue}`, `the edited photo has edit '${older.edit}'`);
      check(older.hash !== projected.hash, "the age slider did not change the projected photo");
      summary.photo.edited_hash = older.hash;
      await page.click("#edit-reset");
      await waitForFace(page, older.src, true);
    }
    // New face leaves the photo: a seed again.
    const shown = await faceState(page);
    await page.click("#new-face");
    const fresh = await waitForFace(page, shown.src);
    check(/^\d+$/.test(fresh.seed), `after New face the page shows '${fresh.seed}', not a seed`);
  } else {
    summary.photo = photoOffered ? "offered, no --photo given" : "not offered";
  }

  if (args.screenshot) {
    await page.setViewport({ width: 960, height: 900 });  // tall enough for the first attribute sliders
    if (args.seed) {
      const query = new URLSearchParams({ seed: args.seed });
      if (args.edit) query.set("edit", args.edit);
      await page.goto(new URL("/?" + query, args.url).href, { waitUntil: "load", timeout });
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
