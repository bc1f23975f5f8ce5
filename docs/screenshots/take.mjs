// Take the README screenshots in a real Home Assistant with headless Chromium.
//
// Run by `scripts/screenshots` (tools/screenshots.py), which starts Home Assistant and
// the local Deepgram-compatible server, onboards, and passes everything in the
// environment. This script then does what a user does in the web UI: add the
// integration (a wrong key first), open its options, and open the Assist pipeline.
//
// Home Assistant fetches brand icons from brands.home-assistant.io, which is not
// reachable here; the Deepgram icon is served from custom_components/deepgram/brand/
// (what Home Assistant 2026.3+ serves itself), every other icon stays missing.

import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run scripts/screenshots`);
  return value;
};

const HA_URL = env("HA_URL");
const OUT_DIR = env("SCREENSHOT_DIR");
const BRAND_DIR = env("BRAND_DIR");
const DEEPGRAM_URL = env("DEEPGRAM_URL");
const API_KEY = env("DEEPGRAM_KEY");
const WRONG_KEY = env("DEEPGRAM_WRONG_KEY");
const STEP_TIMEOUT = 20_000;
const taken = [];
// A 1x1 transparent PNG: an icon that is missing, without the browser's broken-image mark.
const TRANSPARENT_PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg==",
  "base64",
);

const log = (message) => console.log(`screenshots: ${message}`);

async function main() {
  const browser = await chromium.launch({
    executablePath: env("CHROMIUM"),
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  try {
    const context = await browser.newContext({
      // Tall enough that long dialogs show whole, without scrolling.
      viewport: { width: 1280, height: 2200 },
      deviceScaleFactor: 2,
      colorScheme: "light",
      locale: "en-US",
      timezoneId: "UTC",
    });
    context.setDefaultTimeout(STEP_TIMEOUT);
    await context.addInitScript((tokens) => {
      window.localStorage.setItem("hassTokens", JSON.stringify(tokens));
    }, {
      access_token: env("HA_ACCESS_TOKEN"),
      refresh_token: env("HA_REFRESH_TOKEN"),
      token_type: "Bearer",
      expires_in: 1800,
      expires: Date.now() + 1800 * 1000,
      hassUrl: HA_URL,
      clientId: env("HA_CLIENT_ID"),
    });
    await context.route("https://brands.home-assistant.io/**", (route) => {
      const match = /\/deepgram\/((?:dark_)?(?:icon|logo)(?:@2x)?\.png)$/.exec(route.request().url());
      const file = match && path.join(BRAND_DIR, match[1]);
      if (file && fs.existsSync(file)) {
        return route.fulfill({ path: file, contentType: "image/png" });
      }
      return route.fulfill({ body: TRANSPARENT_PIXEL, contentType: "image/png" });
    });
    const page = await context.newPage();
    page.on("pageerror", (error) => log(`page error: ${error.message}`));

    try {
      const entityId = await addIntegration(page);
      await optionsFlow(page);
      await assistPipeline(page, entityId);
    } catch (error) {
      const failure = process.env.FAILURE_SCREENSHOT;
      if (failure) {
        await page.screenshot({ path: failure }).catch(() => {});
        log(`the page at the failure: ${failure}`);
      }
      throw error;
    }
  } finally {
    await browser.close();
  }
  log(`wrote ${taken.length} screenshots to ${OUT_DIR}: ${taken.join(", ")}`);
}

/** The open dialog, whose content the queries search. */
function dialog(page) {
  return page.locator("ha-dialog[open]").last();
}

/** The open dialog's visible box, which the screenshots are cropped to. */
function dialogSurface(page) {
  return page.locator("ha-dialog[open] .mdc-dialog__surface").last();
}

/** Screenshot the open dialog; `until` crops it below that element. */
async function shoot(page, name, { until } = {}) {
  const surface = dialogSurface(page);
  await surface.waitFor({ state: "visible" });
  await page.waitForTimeout(600); // Let ripples and transitions settle.
  const file = path.join(OUT_DIR, `${name}.png`);
  const clip = await surface.boundingBox();
  if (until) {
    const last = await until.boundingBox();
    clip.height = Math.min(clip.height, last.y + last.height + 16 - clip.y);
  }
  await page.screenshot({ path: file, clip, animations: "disabled", caret: "hide" });
  taken.push(`${name}.png`);
  log(`took ${name}.png`);
}

async function waitForHomeAssistant(page, url) {
  await page.goto(`${HA_URL}${url}`);
  await page.waitForFunction(() => {
    const root = document.querySelector("home-assistant");
    return root?.hass?.connected && root.hass.states;
  });
}

async function submit(page) {
  await dialog(page).getByRole("button", { name: "Submit" }).click();
}

async function addIntegration(page) {
  await waitForHomeAssistant(page, "/config/integrations/dashboard");
  await page.getByRole("button", { name: "Add integration" }).click();
  await page.getByLabel("Search for a brand name").fill("Deepgram");
  const item = page.locator("ha-integration-list-item", { hasText: "Deepgram" }).first();
  await item.waitFor();
  await shoot(page, "add-integration", { until: item });
  await item.click();

  const apiKey = page.getByRole("textbox", { name: "API key" });
  await apiKey.fill(WRONG_KEY);
  await page.getByRole("heading", { name: "Server", exact: true }).click();
  // The server list takes a custom item: open it, type the URL, pick it.
  await dialog(page).getByText("Server URL").click();
  await page.getByLabel("Search | Add custom item").fill(DEEPGRAM_URL);
  await page.keyboard.press("Enter");
  await dialog(page).getByText(DEEPGRAM_URL, { exact: true }).waitFor();
  await shoot(page, "config-flow-user");

  await submit(page);
  await page.getByText("Deepgram refused this API key.").waitFor();
  await shoot(page, "config-flow-invalid-key");

  await apiKey.fill(API_KEY);
  await submit(page);
  await page.getByRole("combobox", { name: "Language" }).waitFor();
  await shoot(page, "config-flow-language");

  await submit(page);
  await dialog(page).getByText("Device created").first().waitFor();
  await shoot(page, "config-flow-created");
  await dialog(page).getByRole("button", { name: /finish/i }).click();

  return page.evaluate(() => {
    const { states } = document.querySelector("home-assistant").hass;
    return Object.keys(states).find((entityId) => entityId.startsWith("stt.deepgram"));
  });
}

async function optionsFlow(page) {
  await waitForHomeAssistant(page, "/config/integrations/integration/deepgram");
  const configure = page.getByRole("button", { name: "Configure" });
  try {
    await configure.first().waitFor({ timeout: 5_000 });
  } catch {
    log("skipped the options flow: the Deepgram entry has no options flow (no Configure button)");
    return;
  }
  await configure.first().click();
  for (let step = 1; step <= 5; step += 1) {
    await dialogSurface(page).waitFor();
    const finish = dialog(page).getByRole("button", { name: /finish/i });
    if (await finish.count()) {
      await finish.click();
      return;
    }
    await shoot(page, `options-flow-${step}`);
    await submit(page);
    await page.waitForTimeout(800);
    if (!(await dialogSurface(page).isVisible())) return;
  }
}

async function assistPipeline(page, entityId) {
  await waitForHomeAssistant(page, "/config/voice-assistants/assistants");
  await page.evaluate(async (stt) => {
    const { hass } = document.querySelector("home-assistant");
    const pipeline = await hass.callWS({
      type: "assist_pipeline/pipeline/create",
      name: "Deepgram",
      language: "en",
      conversation_engine: "conversation.home_assistant",
      conversation_language: "en",
      stt_engine: stt,
      stt_language: "en",
      tts_engine: null,
      tts_language: null,
      tts_voice: null,
      wake_word_entity: null,
      wake_word_id: null,
    });
    await hass.callWS({ type: "assist_pipeline/pipeline/set_preferred", pipeline_id: pipeline.id });
  }, entityId);
  await waitForHomeAssistant(page, "/config/voice-assistants/assistants");
  await page.getByText("Deepgram", { exact: true }).first().click();
  await page.getByText("Speech-to-text", { exact: true }).first().waitFor();
  await shoot(page, "assist-pipeline");
}

fs.mkdirSync(OUT_DIR, { recursive: true });
main().catch((error) => {
  console.error(`screenshots: ${error.stack ?? error}`);
  process.exitCode = 1;
});
