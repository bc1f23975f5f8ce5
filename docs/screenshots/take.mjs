// Take the README screenshots in a real Home Assistant with headless Chromium.
//
// Run by `scripts/screenshots` (tools/screenshots.py), which starts Home Assistant and
// the local Deepgram-compatible server, onboards, and passes everything in the
// environment. This script then does what a user does in the web UI: add the
// integration (a wrong key first), open the account's page with its subentries, open
// the form that adds a voice, reconfigure the speech-to-text setting, open the Assist
// pipeline and choose the Deepgram voice as its text-to-speech.
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
const VIEWPORT = { width: 1280, height: 2200 };
const VOICE = "Thalia (American)";
// The subentries' titles as the set-up names them.
const SETTING_TITLE_PATTERN = /^Deepgram Nova-3/;
const VOICE_TITLE_PATTERN = /^Deepgram Aura-2$/;
// The voice list shows about this many CSS pixels of voices below the picker.
const VOICE_LIST_HEIGHT = 440;
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
      viewport: VIEWPORT,
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
      await accountSubentries(page);
      await voiceAdd(page);
      await sttSettingReconfigure(page);
      await assistPipeline(page, entityId);
      await assistVoice(page);
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
  // An mdc dialog up to Home Assistant 2026.10, a Web Awesome one (a <dialog>) after.
  return page.locator("ha-dialog[open] .mdc-dialog__surface, ha-dialog[open] dialog[part~='dialog']").last();
}

/**
 * Screenshot the open dialog (or `area`): `until` crops it below that element,
 * `reach` extends it down to an element that hangs out of it (an open list), at
 * most to `reachLimit`; `clip` gives the area in the page outright.
 */
async function shoot(page, name, { area = dialogSurface(page), until, reach, reachLimit, clip: fixed } = {}) {
  await area.waitFor({ state: "visible" });
  await page.waitForTimeout(600); // Let ripples and transitions settle.
  const file = path.join(OUT_DIR, `${name}.png`);
  const clip = fixed ?? (await area.boundingBox());
  if (until) {
    const last = await until.boundingBox();
    clip.height = Math.min(clip.height, last.y + last.height + 16 - clip.y);
  }
  if (reach) {
    const last = await reach.boundingBox();
    // A list longer than the window is cut where the window ends, as a user sees it.
    const bottom = Math.min(
      last.y + last.height + 16,
      page.viewportSize().height,
      reachLimit ?? Number.POSITIVE_INFINITY,
    );
    clip.height = Math.max(clip.height, bottom - clip.y);
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

/**
 * A drop-down field: a combobox up to Home Assistant 2026.10, a picker field that
 * opens a menu after.
 */
function picker(scope, name) {
  return scope
    .getByRole("combobox", { name })
    .or(scope.locator(`ha-picker-field[aria-label="${name}"]`))
    .first();
}

/** An item of the open drop-down list: an option up to 2026.10, a menu item after. */
function listItem(page, name, exact = false) {
  return page.getByRole("option", { name, exact }).or(page.getByRole("menuitem", { name, exact })).first();
}

/** A search field: labelled up to Home Assistant 2026.10, with a placeholder after. */
function searchField(page, text) {
  return page.getByLabel(text).or(page.getByPlaceholder(text)).first();
}

async function submit(page) {
  await dialog(page).getByRole("button", { name: "Submit" }).click();
}

/**
 * Keep the HTTP settings of configuration.yaml: Home Assistant 2026.11+ asks to
 * confirm new ones (a port other than 8123) once, in a dialog over every page.
 */
async function confirmHttpSettings(page) {
  const pending = page.locator("dialog-http-pending-config");
  const confirm = pending.getByRole("button", { name: "Confirm", exact: true });
  try {
    await confirm.waitFor({ timeout: 5_000 });
  } catch {
    return; // Older versions do not ask.
  }
  await confirm.click();
  await confirm.waitFor({ state: "hidden" });
  await page.waitForTimeout(400);
}

async function addIntegration(page) {
  await waitForHomeAssistant(page, "/config/integrations/dashboard");
  await confirmHttpSettings(page);
  await page.getByRole("button", { name: "Add integration" }).click();
  await searchField(page, "Search for a brand name").fill("Deepgram");
  const item = page.locator("ha-integration-list-item", { hasText: "Deepgram" }).first();
  await item.waitFor();
  await shoot(page, "add-integration", { until: item });
  await item.click();

  const apiKey = page.getByRole("textbox", { name: "API key" });
  await apiKey.fill(WRONG_KEY);
  await page.getByRole("heading", { name: "Server", exact: true }).click();
  // The server list takes a custom item: open it, type the URL, pick it.
  await dialog(page).getByText("default", { exact: true }).click();
  await searchField(page, "Search | Add custom item").fill(DEEPGRAM_URL);
  await page.waitForTimeout(600);
  // Up to 2026.10 Enter takes the typed URL; after, the list offers it as an item.
  const offered = page.locator("wa-popover[open]").getByText(DEEPGRAM_URL).first();
  if (await offered.count()) {
    await offered.click();
  } else {
    await page.keyboard.press("Enter");
  }
  await dialog(page).getByText(DEEPGRAM_URL, { exact: true }).waitFor();
  await shoot(page, "config-flow-user");

  await submit(page);
  await page.getByText("Deepgram refused this API key.").waitFor();
  await shoot(page, "config-flow-invalid-key");

  await apiKey.fill(API_KEY);
  await submit(page);
  await picker(page, "Language").waitFor();
  await shoot(page, "config-flow-language");

  await submit(page);
  // "Device(s) created" up to Home Assistant 2026.10, "Name and assign" after.
  await dialog(page).getByText(/Devices? created|Name and assign/).filter({ visible: true }).first().waitFor();
  await shoot(page, "config-flow-created");
  await dialog(page).getByRole("button", { name: /finish/i }).click();

  return page.evaluate(() => {
    const { states } = document.querySelector("home-assistant").hass;
    return Object.keys(states).find((entityId) => entityId.startsWith("stt.deepgram"));
  });
}

/** The integration's page, narrow enough to read, with the account's entry on it. */
async function integrationPage(page) {
  await page.setViewportSize({ width: 1024, height: VIEWPORT.height });
  await waitForHomeAssistant(page, "/config/integrations/integration/deepgram");
  await page.getByText(SETTING_TITLE_PATTERN).first().waitFor();
  await page.getByText(VOICE_TITLE_PATTERN).first().waitFor();
}

/** The account's entry with its subentries: the speech-to-text setting and the voice. */
async function accountSubentries(page) {
  await integrationPage(page);
  const voice = page.getByText(VOICE_TITLE_PATTERN).first();
  // The entries' section, under the integration's name and buttons.
  const section = page.locator("div.section").filter({ has: voice }).first();
  const header = page.getByRole("heading", { name: "Deepgram", exact: true }).first();
  const top = await header.boundingBox();
  const entries = await section.boundingBox();
  await shoot(page, "account-subentries", {
    area: section,
    clip: {
      x: entries.x - 16,
      y: top.y - 24,
      width: entries.width + 32,
      height: entries.y + entries.height + 16 - (top.y - 24),
    },
  });
}

/** Open the account's menu (⋮) and start the subentry flow it names. */
async function startFromAccountMenu(page, name) {
  const direct = page.getByRole("button", { name, exact: true });
  if (await direct.count()) {
    await direct.first().click();
    return;
  }
  const entry = page.locator("ha-config-entry-row").first();
  await entry.locator("ha-button-menu, ha-md-button-menu, ha-dropdown").last().click();
  await page.getByRole("menuitem", { name }).first().click();
}

/** Add a voice: the voice subentry's form, closed without adding. */
async function voiceAdd(page) {
  await integrationPage(page);
  await startFromAccountMenu(page, "Add a voice");
  await picker(dialog(page), "Voice").waitFor();
  await shoot(page, "voice-add");
  await closeDialog(page);
}

/** Reconfigure the speech-to-text setting: the model, then its settings; saved unchanged. */
async function sttSettingReconfigure(page) {
  await integrationPage(page);
  // The setting's row: its gear button reconfigures it.
  const setting = page.locator("ha-config-sub-entry-row").filter({ hasText: "Speech-to-text" }).first();
  const gear = setting.getByRole("button", { name: /reconfigure/i });
  await ((await gear.count()) ? gear.first() : setting.locator("ha-icon-button").first()).click();
  await picker(dialog(page), "Model").waitFor();
  await shoot(page, "stt-setting-reconfigure-1");
  await submit(page);
  await picker(dialog(page), "Language").waitFor();
  await shoot(page, "stt-setting-reconfigure-2");
  await submit(page);
  // The setting's own message up to Home Assistant 2026.10, a generic one after.
  await dialog(page).getByText(/setting has been changed|Reconfiguration was successful/).waitFor();
  await dialog(page).getByRole("button", { name: /finish|close|ok/i }).first().click();
  await page.setViewportSize(VIEWPORT);
}

/** Close the open dialog with its close button (an X in its header). */
async function closeDialog(page) {
  await dialog(page).getByRole("button", { name: /close|dismiss/i }).first().click();
  await dialogSurface(page).waitFor({ state: "hidden" }).catch(() => {});
  await page.waitForTimeout(400);
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

/** Pick an option of a drop-down list and wait until the list has closed. */
async function choose(page, combobox, name) {
  await combobox.click();
  const option = listItem(page, name, true);
  await option.waitFor();
  await page.waitForTimeout(400); // A click while the list still opens leaves it open.
  await option.click();
  await combobox.getByText(name).waitFor();
  await page.locator(".mdc-menu-surface--open").filter({ visible: true }).waitFor({ state: "detached" }).catch(() => {});
  await page.waitForTimeout(400);
}

/** In the open assistant, choose the Deepgram voice and show the voices it offers. */
async function assistVoice(page) {
  await choose(page, picker(dialog(page), "Text-to-speech"), "Deepgram Aura-2");
  const voice = picker(dialog(page), "Voice");
  await choose(page, voice, VOICE);

  // The list opens downward only where more room is below the picker than above:
  // a shorter dialog at the top of the window, scrolled to its end, shows the
  // Text-to-speech section with the list of voices under it.
  await page.locator("ha-dialog[open]").last().evaluate((element) => {
    element.style.setProperty("--vertical-align-dialog", "flex-start");
    element.style.setProperty("--dialog-surface-margin-top", "16px");
    element.style.setProperty("--mdc-dialog-max-height", "640px"); // Up to 2026.10.
    element.style.setProperty("--ha-dialog-max-height", "640px"); // After.
  });
  // A resize makes the Web Awesome dialog (2026.11+) lay itself out again with these.
  await page.setViewportSize({ width: VIEWPORT.width, height: VIEWPORT.height - 1 });
  await page.waitForTimeout(600);
  // The scrolling content: an mdc dialog's up to 2026.10, a Web Awesome dialog's body after.
  await page
    .locator("ha-dialog[open] .mdc-dialog__content, ha-dialog[open] [part~='body']")
    .last()
    .evaluate((element) => {
      element.scrollTop = element.scrollHeight;
    });
  await page.waitForTimeout(600);
  const voiceBox = await voice.boundingBox();
  const below = Math.max(voiceBox.y + 8, VOICE_LIST_HEIGHT);
  await page.setViewportSize({
    width: VIEWPORT.width,
    height: Math.ceil(voiceBox.y + voiceBox.height + below),
  });
  await voice.click();
  // The open list: an mdc menu up to 2026.10, a menu after.
  const list = page
    .locator(".mdc-menu-surface--open")
    .or(page.getByRole("menu"))
    .filter({ visible: true })
    .last();
  await listItem(page, VOICE).waitFor();
  await page.waitForTimeout(400);
  const openedAt = await voice.boundingBox();
  await shoot(page, "assist-voice", {
    reach: list,
    reachLimit: openedAt.y + openedAt.height + VOICE_LIST_HEIGHT,
  });

  await page.keyboard.press("Escape");
  await page.setViewportSize(VIEWPORT);
}

fs.mkdirSync(OUT_DIR, { recursive: true });
main().catch((error) => {
  console.error(`screenshots: ${error.stack ?? error}`);
  process.exitCode = 1;
});
