// End to end in real headless Chromium: keyhaven serve's web page with a CDP
// virtual authenticator (WebAuthn.addVirtualAuthenticator). Registers, signs
// in by username, usernameless and through autofill, adds a second passkey,
// renames, deletes (verifying the user again once the reauthentication window
// has passed), lists the browser's sessions, changes the display name, logs
// out; then the negative cases: a replayed assertion, a reused challenge, a
// flipped signature bit, an unknown credential; and, on a second server with
// built-in TLS, a registration and sign-in over HTTP/2. A hook in the page records
// the Signal API calls (L3 §5.1.10) and their arguments; a page whose
// getClientCapabilities() is stubbed shows what the page offers by them.
// argv[2]: the keyhaven binary; argv[3]: a directory for the screenshots.
// Prints one line per check and "N passed, M failed".
import { execFileSync, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const keyhaven = process.argv[2];
const shots = process.argv[3] || "target/e2e-screenshots";
mkdirSync(shots, { recursive: true });
let passed = 0;
let failed = 0;
const check = (name, ok, detail = "") => {
  ok ? passed++ : failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + detail}`);
};

const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const origin = `http://localhost:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), "keyhaven-e2e-"));
// A short reauthentication window, so that a step can outwait it.
const REAUTH_SECONDS = 5;
// A provider list (the community list's format) naming the AAGUID of
// Chromium's virtual authenticator, with a light and a dark icon.
const VIRTUAL_AAGUID = "01020304-0506-0708-0102-030405060708";
const svg = (fill) =>
  "data:image/svg+xml;base64," +
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="${fill}"/></svg>`).toString("base64");
const providerList = join(dataDir, "aaguid.json");
writeFileSync(providerList, JSON.stringify({ [VIRTUAL_AAGUID]: { name: "Virtual Test Key", icon_light: svg("#111"), icon_dark: svg("#eee") } }));
const server = spawn(
  keyhaven,
  ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--reauth-window", String(REAUTH_SECONDS), "--aaguid-list", providerList],
  { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, KEYHAVEN_LOG: "warn" } },
);
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
  } catch {}
  if (i > 300) throw new Error("serve did not start");
  await new Promise((r) => setTimeout(r, 50));
}

// A second server with built-in TLS: a certificate for localhost made here
// (openssl), which Chromium trusts by its public key hash only
// (--ignore-certificate-errors-spki-list: this test's key, nothing else).
const tlsPort = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const certFile = join(dataDir, "tls-cert.pem");
const keyFile = join(dataDir, "tls-key.pem");
execFileSync("openssl", [
  "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-days", "2", "-nodes",
  "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
  "-keyout", keyFile, "-out", certFile,
], { stdio: "ignore" });
const spki = createHash("sha256")
  .update(new X509Certificate(readFileSync(certFile)).publicKey.export({ type: "spki", format: "der" }))
  .digest("base64");
const tlsServer = spawn(
  keyhaven,
  ["serve", "--listen", `127.0.0.1:${tlsPort}`, "--data-dir", join(dataDir, "tls"), "--tls-cert", certFile, "--tls-key", keyFile],
  { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, KEYHAVEN_LOG: "warn" } },
);
const tlsOrigin = `https://localhost:${tlsPort}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--ignore-certificate-errors-spki-list=${spki}`,
  ],
});
let exitCode = 1;
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const addAuthenticator = async () =>
    (
      await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: {
          protocol: "ctap2",
          ctap2Version: "ctap2_1",
          transport: "internal",
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      })
    ).authenticatorId;
  let auth = await addAuthenticator();

  // The Signal API hook: every call is recorded (through a binding that
  // survives reloads), then passed on to the browser's own if it has one.
  const signals = [];
  await context.exposeBinding("__khSignal", (_src, name, args, native) => {
    signals.push({ name, args, native });
  });
  await context.addInitScript(() => {
    if (!window.PublicKeyCredential) return;
    for (const name of ["signalUnknownCredential", "signalAllAcceptedCredentials", "signalCurrentUserDetails"]) {
      const native = PublicKeyCredential[name];
      PublicKeyCredential[name] = async (args) => {
        await window.__khSignal(name, JSON.parse(JSON.stringify(args)), typeof native === "function");
        return native ? native.call(PublicKeyCredential, args) : undefined;
      };
    }
  });
  // Waits for the next recorded call of `name` after index `from`; its args.
  const nextSignal = async (name, from) => {
    for (let i = 0; i < 100; i++) {
      const hit = signals.slice(from).find((s) => s.name === name);
      if (hit) return hit.args;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${name} call; calls: ${JSON.stringify(signals.slice(from))}`);
  };
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  // Capture what the page sends to the verify endpoints.
  const sent = [];
  let reauths = 0;
  page.on("request", (r) => {
    if (r.url().endsWith("/api/authentication/verify")) sent.push(r.postData());
    if (r.url().endsWith("/api/authentication/options") && /reauthenticate/.test(r.postData() || "")) reauths++;
  });

  const shot = async (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const signedIn = () => page.locator("#signed-in").waitFor({ state: "visible", timeout: 15000 });
  const signedOut = () => page.locator("#signed-out").waitFor({ state: "visible", timeout: 15000 });
  const message = async () => (await page.locator("#message").textContent()) || "";
  const step = async (name, fn) => {
    try {
      await fn();
      check(name, true);
    } catch (e) {
      check(name, false, String(e && e.message ? e.message.split("\n")[0] : e));
      await shot(`failed-${name.replace(/[^a-z0-9]+/gi, "-")}`).catch(() => {});
    }
  };
  const logout = async () => {
    await page.click("#logout");
    await signedOut();
  };

  await page.goto(`${origin}/`);
  await shot("01-home");

  await step("register alice through the page", async () => {
    await page.fill("#register-username", "alice");
    await page.fill("#register-display", "Alice Liddell");
    await page.click("#register-button");
    await signedIn();
    if (!(await page.locator("#me-name").textContent()).includes("Alice")) throw new Error("name not shown");
    if ((await page.locator("#passkeys li").count()) !== 1) throw new Error("one passkey expected");
    await shot("02-registered-account");
  });

  await step("the new passkey is named after its provider, with its icon", async () => {
    const li = page.locator("#passkeys li").nth(0);
    const name = await li.locator(".name").textContent();
    const meta = await li.locator(".meta").textContent();
    if (name !== "Virtual Test Key") throw new Error(`name ${JSON.stringify(name)}`);
    if (!meta.startsWith("Virtual Test Key · ")) throw new Error(`meta ${JSON.stringify(meta)}`);
    // The icon is loaded (the page's CSP allows it: it comes from the server).
    const icon = li.locator(".provider-icon img");
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await icon.elementHandle(), { timeout: 10000 });
    const light = await icon.evaluate((el) => el.currentSrc);
    if (!light.endsWith(`/providers/${VIRTUAL_AAGUID}/light`)) throw new Error(`light: ${light}`);
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForFunction((el) => el.currentSrc.endsWith("/dark") && el.complete && el.naturalWidth > 0, await icon.elementHandle(), { timeout: 10000 });
    await shot("02b-provider-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  await step("a taken username is reported", async () => {
    const r = await page.evaluate(async () => {
      const res = await fetch("/api/registration/options", { method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: "alice" }) });
      return res.status;
    });
    if (r !== 409) throw new Error(`status ${r}`);
  });

  // While signed out the page keeps a conditional (autofill) request open, and
  // the virtual authenticator would answer it at once: presence simulation is
  // switched off around the sign-out and on again right before each ceremony,
  // so the explicit sign-ins below first have to abort that pending request.
  const presence = (enabled) =>
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId: auth, enabled });
  const quietLogout = async () => {
    await presence(false);
    await logout();
    await page.waitForTimeout(300);
  };

  await step("log out", async () => {
    await quietLogout();
    await shot("03-signed-out");
  });

  let userId = null;
  await step("sign in with a username (aborting the pending autofill request)", async () => {
    await page.fill("#signin-username", "alice");
    await presence(true);
    const from = signals.length;
    await page.click("#signin-button");
    await signedIn();
    if (!(await message()).includes("Signed in as alice")) throw new Error(await message());
    await shot("04-signed-in-username");
    // After the sign-in, the account's passkeys go to the passkey manager.
    const args = await nextSignal("signalAllAcceptedCredentials", from);
    const me = await page.evaluate(async () => (await fetch("/api/me")).json());
    userId = me.userId;
    const want = { rpId: "localhost", userId: me.userId, allAcceptedCredentialIds: me.credentials.map((c) => c.id) };
    if (!same(args, want) || want.allAcceptedCredentialIds.length !== 1) {
      throw new Error(`signalAllAcceptedCredentials(${JSON.stringify(args)}), want ${JSON.stringify(want)}`);
    }
  });

  await step("usernameless sign in", async () => {
    await quietLogout();
    await presence(true);
    await page.click("#usernameless-button");
    await signedIn();
  });

  await step("sign in through passkey autofill (conditional mediation)", async () => {
    await presence(true);
    // Signing out starts the conditional request; the (virtual) user picks the
    // passkey from the autofill list without clicking any button.
    await page.click("#logout");
    await page.waitForFunction(
      () => /Signed in as alice/.test(document.getElementById("message").textContent),
      null,
      { timeout: 15000 },
    );
    await signedIn();
    await shot("05-signed-in-autofill");
  });

  await step("add a second passkey from another authenticator", async () => {
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId: auth, isUserVerified: true });
    const first = auth;
    const creds = (await cdp.send("WebAuthn.getCredentials", { authenticatorId: first })).credentials;
    await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: first });
    const second = await addAuthenticator();
    await page.click("#add-passkey");
    await page.locator("#passkeys li").nth(1).waitFor({ timeout: 15000 });
    await shot("06-two-passkeys");
    // Bring the first authenticator back (with its credential) for later sign-ins.
    await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: second });
    auth = await addAuthenticator();
    for (const c of creds) await cdp.send("WebAuthn.addCredential", { authenticatorId: auth, credential: c });
  });

  await step("rename a passkey", async () => {
    await page.locator("#passkeys li").nth(0).locator("button.rename").click();
    await page.fill(".rename-input", "Work laptop");
    await page.click("button.save");
    await page.locator("#passkeys li .name", { hasText: "Work laptop" }).waitFor({ timeout: 10000 });
    await shot("07-renamed");
  });

  await step("the account page lists this browser's session", async () => {
    await page.locator("#sessions li").first().waitFor({ timeout: 10000 });
    const items = await page.locator("#sessions li .name").allTextContents();
    if (items.length !== 1 || !/^Chrome on Linux \(this browser\)$/.test(items[0])) throw new Error(JSON.stringify(items));
  });

  await step("deleting a passkey after the reauthentication window verifies the user first", async () => {
    await page.waitForTimeout(REAUTH_SECONDS * 1000 + 500);
    const before = reauths;
    const kept = await page.locator("#passkeys li").nth(0).getAttribute("data-id");
    const from = signals.length;
    await page.locator("#passkeys li").nth(1).locator("button.delete").click();
    await page.waitForFunction(() => document.querySelectorAll("#passkeys li").length === 1, null, { timeout: 15000 });
    if (reauths !== before + 1) throw new Error(`${reauths - before} reauthentications`);
    if (!/Passkey deleted\.$/.test(await message())) throw new Error(await message());
    await shot("08-deleted-second");
    // The deletion is signalled with the one passkey left. The
    // reauthentication before it was not a sign-in: no other call.
    const args = await nextSignal("signalAllAcceptedCredentials", from);
    const want = { rpId: "localhost", userId, allAcceptedCredentialIds: [kept] };
    if (!same(args, want)) throw new Error(`signalAllAcceptedCredentials(${JSON.stringify(args)}), want ${JSON.stringify(want)}`);
    const calls = signals.slice(from).map((s) => s.name);
    if (calls.length !== 1) throw new Error(`calls: ${JSON.stringify(calls)}`);
  });

  await step("changing the display name signals the new user details", async () => {
    const from = signals.length;
    await page.click("#edit-name");
    await page.fill(".display-name-input", "Alice L.");
    await page.click(".display-name-save");
    await page.locator("#me-name", { hasText: "Alice L." }).waitFor({ timeout: 10000 });
    const args = await nextSignal("signalCurrentUserDetails", from);
    const want = { rpId: "localhost", userId, name: "alice", displayName: "Alice L." };
    if (!same(args, want)) throw new Error(`signalCurrentUserDetails(${JSON.stringify(args)}), want ${JSON.stringify(want)}`);
    await shot("08b-display-name");
  });

  await step("add a security key asks with the security-key hint", async () => {
    // A page of its own (no virtual authenticator there, so the browser's
    // dialog would wait): only what the page asks the server is checked.
    const other = await context.newPage();
    const asked = other.waitForRequest((r) => r.url().endsWith("/api/registration/options"), { timeout: 10000 });
    await other.goto(`${origin}/account`);
    await other.locator("#signed-in").waitFor({ state: "visible", timeout: 15000 });
    await other.click("#add-security-key");
    const body = JSON.parse((await asked).postData());
    await other.close();
    if (!same(body, { hints: ["security-key"] })) throw new Error(JSON.stringify(body));
  });

  await step("the last passkey needs a confirmation", async () => {
    await page.locator("#passkeys li").nth(0).locator("button.delete").click();
    const text = await page.locator("#passkeys li button.delete").textContent();
    if (!/only passkey/.test(text)) throw new Error(text);
    await shot("09-confirm-last");
    await page.reload();
    await signedIn();
  });

  // Negative cases, from the page's own context (same origin, real browser requests).
  const verify = (body) =>
    page.evaluate(async (b) => {
      const res = await fetch("/api/authentication/verify", { method: "POST", headers: { "Content-Type": "application/json" }, body: b });
      return [res.status, await res.json()];
    }, body);

  await step("a replayed assertion is refused", async () => {
    const last = sent[sent.length - 1];
    const [status, body] = await verify(last);
    if (status !== 400 || body.verified !== false) throw new Error(`${status} ${JSON.stringify(body)}`);
  });

  await step("a reused challenge is refused", async () => {
    const r = await page.evaluate(async () => {
      const toJSON = (c) => c.toJSON();
      const opts = await (await fetch("/api/authentication/options", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).json();
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(opts);
      const a = await navigator.credentials.get({ publicKey });
      const b = await navigator.credentials.get({ publicKey });
      const out = [];
      for (const c of [a, b]) {
        const res = await fetch("/api/authentication/verify", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(toJSON(c)) });
        out.push(res.status);
      }
      return out;
    });
    if (r[0] !== 200 || r[1] !== 400) throw new Error(JSON.stringify(r));
  });

  await step("a flipped signature bit is refused", async () => {
    const r = await page.evaluate(async () => {
      const opts = await (await fetch("/api/authentication/options", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).json();
      const c = (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts) })).toJSON();
      const sig = c.response.signature;
      const last = sig.slice(-2, -1);
      const flipped = last === "A" ? "B" : "A";
      c.response.signature = sig.slice(0, -2) + flipped + sig.slice(-1);
      const res = await fetch("/api/authentication/verify", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(c) });
      return [res.status, await res.json()];
    });
    if (r[0] !== 400 || r[1].verified !== false) throw new Error(JSON.stringify(r));
  });

  await step("an unknown passkey is explained on the page", async () => {
    // Delete alice's passkey on the server; the authenticator still offers it.
    // Deleting needs a recent verification: one more sign-in first, as the
    // page would do on a 403.
    const id = await page.locator("#passkeys li").nth(0).getAttribute("data-id");
    const status = await page.evaluate(async (id) => {
      const post = (path, body) => fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const opts = await (await post("/api/authentication/options", { reauthenticate: true })).json();
      const c = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts) });
      if (!(await post("/api/authentication/verify", c.toJSON())).ok) return "reauthentication refused";
      const res = await fetch(`/api/credentials/${id}?confirm=true`, { method: "DELETE" });
      return `${res.status} ${(await res.json()).signedOut}`;
    }, id);
    if (status !== "200 true") throw new Error(`delete: ${status}`);
    // Without presence, the autofill request started on the signed-out page
    // waits, and the explicit sign-in below is the one that fails.
    await presence(false);
    await page.reload();
    await signedOut();
    await page.waitForTimeout(300);
    await presence(true);
    const from = signals.length;
    await page.click("#usernameless-button");
    await page.locator("#message.error").waitFor({ timeout: 10000 });
    const text = await message();
    if (!/not registered here/.test(text)) throw new Error(text);
    await shot("10-unknown-passkey");
    // The passkey manager is told that this site does not know it.
    const args = await nextSignal("signalUnknownCredential", from);
    if (!same(args, { rpId: "localhost", credentialId: id })) throw new Error(`signalUnknownCredential(${JSON.stringify(args)})`);
    // A browser with the Signal API passes it on: Chromium's virtual
    // authenticator then drops the passkey.
    if (signals[signals.length - 1].native) {
      for (let i = 0; i < 50; i++) {
        const left = (await cdp.send("WebAuthn.getCredentials", { authenticatorId: auth })).credentials;
        if (left.length === 0) break;
        if (i === 49) throw new Error(`the authenticator still holds ${left.length} passkeys`);
        await page.waitForTimeout(100);
      }
    }
  });

  await step("getClientCapabilities decides what the page offers", async () => {
    // Stubbed: no autofill, a phone can be used. The page then starts no
    // conditional request and shows the phone button, which asks with the
    // hybrid hint.
    const other = await context.newPage();
    await other.addInitScript(() => {
      PublicKeyCredential.getClientCapabilities = async () => ({ conditionalGet: false, hybridTransport: true });
    });
    const options = [];
    other.on("request", (r) => {
      if (r.url().endsWith("/api/authentication/options")) options.push(r.postData());
    });
    await other.goto(`${origin}/`);
    await other.locator("#hybrid-button").waitFor({ state: "visible", timeout: 10000 });
    await other.waitForTimeout(500);
    if (options.length !== 0) throw new Error(`autofill started: ${JSON.stringify(options)}`);
    await other.click("#hybrid-button");
    for (let i = 0; i < 50 && options.length === 0; i++) await other.waitForTimeout(100);
    await other.close();
    if (!same(options.map((o) => JSON.parse(o)), [{ hints: ["hybrid"] }])) throw new Error(JSON.stringify(options));
    // Where the browser says nothing about phones, the button stays hidden.
    if (await page.locator("#hybrid-button").isVisible()) {
      const caps = await page.evaluate(async () => (PublicKeyCredential.getClientCapabilities ? PublicKeyCredential.getClientCapabilities() : {}));
      if (caps.hybridTransport !== true) throw new Error("phone button shown without hybridTransport");
    }
  });

  await step("a cancelled ceremony is explained", async () => {
    await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: auth });
    const lonely = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", ctap2Version: "ctap2_1", transport: "usb", hasResidentKey: true, hasUserVerification: true, isUserVerified: false, automaticPresenceSimulation: false },
    });
    await page.evaluate(() => {
      // Shorten the wait: the page's own timeout handling is what is under test.
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (o) => {
        if (o.publicKey && !o.mediation) o.publicKey.timeout = 1500;
        return get(o);
      };
    });
    await page.fill("#signin-username", "bob");
    await page.click("#signin-button");
    await page.locator("#message.error").waitFor({ timeout: 20000 });
    const text = await message();
    if (!/cancelled or timed out/.test(text)) throw new Error(text);
    await shot("11-cancelled");
    await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: lonely.authenticatorId });
  });

  await step("over built-in TLS (HTTP/2): register and sign in at the default https origin", async () => {
    const tlsContext = await browser.newContext();
    const p = await tlsContext.newPage();
    const c = await tlsContext.newCDPSession(p);
    await c.send("WebAuthn.enable");
    await c.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", ctap2Version: "ctap2_1", transport: "internal", hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    for (let i = 0; ; i++) {
      try {
        await p.goto(`${tlsOrigin}/`);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await p.waitForTimeout(100);
      }
    }
    const nav = await p.evaluate(() => ({
      secure: window.isSecureContext,
      protocol: performance.getEntriesByType("navigation")[0].nextHopProtocol,
    }));
    if (!nav.secure || nav.protocol !== "h2") throw new Error(JSON.stringify(nav));
    await p.fill("#register-username", "tls-alice");
    await p.click("#register-button");
    await p.locator("#signed-in").waitFor({ state: "visible", timeout: 15000 });
    await p.click("#logout");
    // Signing out starts autofill, which the virtual authenticator answers at
    // once, so the signed-out view may come and go before it can be seen:
    // the page ends signed in as tls-alice, over https (a message only a
    // sign-in shows; registration says "Passkey created").
    await p.waitForFunction(() => /Signed in as tls-alice/.test(document.getElementById("message").textContent), null, { timeout: 15000 });
    const cookies = await tlsContext.cookies();
    const session = cookies.find((k) => k.name === "__Host-kh_session");
    if (!session || !session.secure) throw new Error(JSON.stringify(cookies.map((k) => k.name)));
    await p.screenshot({ path: join(shots, "12-tls-signed-in.png"), fullPage: true });
    await tlsContext.close();
  });

  exitCode = failed === 0 ? 0 : 1;
} finally {
  await browser.close();
  server.kill();
  tlsServer.kill();
  await new Promise((r) => (server.exitCode !== null ? r() : server.once("exit", r)));
  await new Promise((r) => (tlsServer.exitCode !== null ? r() : tlsServer.once("exit", r)));
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode);
