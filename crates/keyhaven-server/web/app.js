// keyhaven web page: register, sign in (username, usernameless, autofill),
// manage passkeys. No inline script (the CSP forbids it), no build step.
"use strict";

const $ = (id) => document.getElementById(id);

// ---- base64url and the L3 JSON forms, with a fallback for browsers without
// PublicKeyCredential.parseCreationOptionsFromJSON / toJSON.
function fromB64url(s) {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
}
function toB64url(buf) {
  const bytes = new Uint8Array(buf);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
const descriptors = (list) => (list || []).map((d) => ({ ...d, id: fromB64url(d.id) }));

function creationOptions(json) {
  if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromB64url(json.challenge),
    user: { ...json.user, id: fromB64url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return { ...json, challenge: fromB64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function credentialJSON(cred) {
  if (typeof cred.toJSON === "function") return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    if (r.getAuthenticatorData) response.authenticatorData = toB64url(r.getAuthenticatorData());
    if (r.getTransports) response.transports = r.getTransports();
    if (r.getPublicKeyAlgorithm) response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
    const pk = r.getPublicKey && r.getPublicKey();
    if (pk) response.publicKey = toB64url(pk);
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  }
  return {
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    response,
  };
}

// ---- the server.
class ServerError extends Error {
  constructor(status, message, data = {}) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

async function api(path, body, method = "POST") {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = {};
  try {
    data = await res.json();
  } catch {
    /* empty body */
  }
  if (!res.ok) throw new ServerError(res.status, data.error || `HTTP ${res.status}`, data);
  return data;
}

// Adding or deleting a passkey needs a recent sign-in that verified the user
// (PIN or biometrics). When the server answers 403 "reauthenticate", the user
// verifies with one of the account's passkeys and the change is retried once.
async function reauthenticate() {
  const { cred } = await getCredential({ reauthenticate: true });
  await api("/api/authentication/verify", credentialJSON(cred));
}

async function sensitive(fn) {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof ServerError && e.status === 403 && e.data.reauthenticate)) throw e;
    show("Confirm it is you: use one of your passkeys.", "info");
    await reauthenticate();
    return await fn();
  }
}

// ---- what the browser can do (L3 §5.1.7 getClientCapabilities) and the
// Signal API (L3 §5.1.10), which tells the user's passkey manager what this
// site knows: a passkey it does not know, the account's passkeys, the user's
// names. Every call is feature-detected and its failure ignored: a browser
// without them works as before.
let capabilities = {};

async function loadCapabilities() {
  try {
    if (window.PublicKeyCredential && typeof PublicKeyCredential.getClientCapabilities === "function") {
      capabilities = (await PublicKeyCredential.getClientCapabilities()) || {};
    }
  } catch {
    capabilities = {};
  }
}

function signal(name, args) {
  if (!window.PublicKeyCredential || typeof PublicKeyCredential[name] !== "function") return;
  if (capabilities[name] === false) return;
  Promise.resolve()
    .then(() => PublicKeyCredential[name](args))
    .catch(() => {});
}

function signalAccepted(rpId, userId, ids) {
  signal("signalAllAcceptedCredentials", { rpId, userId, allAcceptedCredentialIds: ids });
}

// ---- messages.
function show(text, kind = "info") {
  const m = $("message");
  m.textContent = text;
  m.className = kind;
  m.hidden = false;
}
function clearMessage() {
  $("message").hidden = true;
}

function explain(e, what) {
  if (e instanceof ServerError) {
    if (e.status === 429) return "Too many attempts. Wait a minute and try again.";
    if (e.status === 409) return e.message.charAt(0).toUpperCase() + e.message.slice(1) + ".";
    if (/unknown credential/.test(e.message)) {
      return "This passkey is not registered here (it may have been deleted). Try another one or create an account.";
    }
    if (/challenge/.test(e.message)) return `The ${what} took too long or was already used. Please try again.`;
    return `The server refused the ${what}: ${e.message}`;
  }
  switch (e && e.name) {
    case "NotAllowedError":
      return `The ${what} was cancelled or timed out.`;
    case "AbortError":
      return `The ${what} was cancelled.`;
    case "InvalidStateError":
      return "This authenticator already holds a passkey for this account.";
    case "SecurityError":
      return "Passkeys cannot be used on this address (the site's origin does not match its RP ID).";
    case "NotSupportedError":
      return "This browser or authenticator does not support the passkey type this site asks for.";
    case "ConstraintError":
      return "Your authenticator cannot verify you (no PIN or biometrics set up).";
    default:
      return `The ${what} failed: ${e && e.message ? e.message : e}`;
  }
}

// ---- passkey autofill (conditional mediation). A pending conditional request
// blocks every other WebAuthn call ("A request is already pending"), so it is
// aborted before any other ceremony and restarted after.
let conditional = null;

async function stopAutofill() {
  if (!conditional) return;
  const { controller, done } = conditional;
  conditional = null;
  controller.abort();
  await done.catch(() => {});
}

async function startAutofill() {
  if (conditional || !window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
  if (capabilities.conditionalGet === false) return;
  if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
  const controller = new AbortController();
  const done = (async () => {
    const options = await api("/api/authentication/options", {});
    const cred = await navigator.credentials.get({
      publicKey: requestOptions(options),
      mediation: "conditional",
      signal: controller.signal,
    });
    conditional = null;
    await finishSignIn({ cred, rpId: options.rpId });
  })();
  conditional = { controller, done };
  done.catch((e) => {
    if (conditional && conditional.controller === controller) conditional = null;
    if (controller.signal.aborted || (e && e.name === "AbortError")) return;
    // The user picked a passkey and the server refused it: say why, and offer
    // autofill again. A browser-side failure of a request the user never saw
    // (no passkey for this site, autofill unsupported) stays silent.
    if (e instanceof ServerError) {
      show(explain(e, "sign-in"), "error");
      startAutofill();
    }
  });
}

// ---- ceremonies.
async function busy(button, fn) {
  button.disabled = true;
  clearMessage();
  try {
    await fn();
  } finally {
    button.disabled = false;
  }
}

async function register(username, displayName) {
  await stopAutofill();
  try {
    const options = await api("/api/registration/options", { username, displayName: displayName || undefined });
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    await api("/api/registration/verify", credentialJSON(cred));
    show("Passkey created. You are signed in.", "ok");
    await refresh();
  } catch (e) {
    show(explain(e, "registration"), "error");
    await refresh();
  }
}

// Verifies `got` (from getCredential). A passkey the server does not know
// (deleted here, or never registered) is reported to the passkey manager so
// that it stops offering it; after a sign-in, the account's passkeys are.
async function finishSignIn(got) {
  let r;
  try {
    r = await api("/api/authentication/verify", credentialJSON(got.cred));
  } catch (e) {
    if (e instanceof ServerError && e.data.unknownCredential) {
      signal("signalUnknownCredential", { rpId: got.rpId || location.hostname, credentialId: got.cred.id });
    }
    throw e;
  }
  show(`Signed in as ${r.username}.`, "ok");
  const me = await refresh();
  if (me) signalAccepted(me.rpId, me.userId, me.credentials.map((c) => c.id));
}

// Authentication options for `body`, answered by the user's authenticator:
// the credential and the RP ID it was asked for.
async function getCredential(body) {
  const options = await api("/api/authentication/options", body);
  const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
  return { cred, rpId: options.rpId };
}

async function signIn(username, hints) {
  await stopAutofill();
  try {
    await finishSignIn(await getCredential(username ? { username, hints } : { hints }));
  } catch (e) {
    show(explain(e, "sign-in"), "error");
    await refresh();
  }
}

// `hints` ["security-key"] when the user asked for a security key.
async function addPasskey(hints) {
  try {
    const options = await sensitive(() => api("/api/registration/options", hints ? { hints } : {}));
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    await api("/api/registration/verify", credentialJSON(cred));
    show("Passkey added.", "ok");
  } catch (e) {
    show(explain(e, "registration"), "error");
  }
  await refresh();
}

// ---- the account page.
function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

// Synced (backed up), can sync but not yet, or bound to its device (L3 §6.1.3 BE/BS).
function syncState(c) {
  if (!c.backupEligible) return "this device only";
  return c.backedUp ? "synced" : "not synced yet";
}

// The provider's icon, light or dark as the page's colour scheme is; a
// neutral placeholder when the provider is unknown or has no icon.
function providerIcon(provider) {
  const box = document.createElement("span");
  box.className = "provider-icon";
  if (!provider || !(provider.iconLight || provider.iconDark)) return box;
  const picture = document.createElement("picture");
  if (provider.iconDark) {
    const dark = document.createElement("source");
    dark.media = "(prefers-color-scheme: dark)";
    dark.srcset = provider.iconDark;
    picture.append(dark);
  }
  const img = document.createElement("img");
  img.src = provider.iconLight || provider.iconDark;
  img.alt = "";
  img.width = 28;
  img.height = 28;
  picture.append(img);
  box.append(picture);
  return box;
}

function renderPasskeys(me) {
  const list = $("passkeys");
  list.replaceChildren();
  for (const c of me.credentials) {
    const li = document.createElement("li");
    li.dataset.id = c.id;
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = c.name;
    const meta = document.createElement("div");
    meta.className = "meta";
    const where = c.provider ? `${c.provider.name} · ` : "";
    meta.textContent = `${where}${syncState(c)} · created ${when(c.createdAt)} · last used ${when(c.lastUsedAt)}`;
    li.append(providerIcon(c.provider));
    const rename = document.createElement("button");
    rename.type = "button";
    rename.className = "secondary rename";
    rename.textContent = "Rename";
    rename.addEventListener("click", () => startRename(li, c));
    const del = document.createElement("button");
    del.type = "button";
    del.className = "danger delete";
    del.textContent = "Delete";
    del.addEventListener("click", () => deletePasskey(c, del, me.credentials.length === 1));
    li.append(name, meta, rename, del);
    list.append(li);
  }
}

// A text field and its Save button in `box`: `save(value)` runs on Save,
// then the page is read again. `ids` names the two for the tests.
function editor(box, value, label, ids, what, save) {
  const input = document.createElement("input");
  input.value = value;
  input.className = ids.input;
  input.setAttribute("aria-label", label);
  const button = document.createElement("button");
  button.type = "button";
  button.className = ids.save;
  button.textContent = "Save";
  button.addEventListener("click", async () => {
    try {
      await save(input.value);
    } catch (e) {
      show(explain(e, what), "error");
    }
    await refresh();
  });
  box.replaceChildren(input, button);
  input.focus();
}

function startRename(li, c) {
  editor(li, c.name, "New name", { input: "rename-input", save: "save" }, "rename", async (name) => {
    await api(`/api/credentials/${encodeURIComponent(c.id)}`, { name }, "PATCH");
    show("Passkey renamed.", "ok");
  });
}

async function deletePasskey(c, button, last) {
  if (last && !button.dataset.armed) {
    button.dataset.armed = "1";
    button.textContent = "Delete your only passkey? You will not be able to sign in.";
    return;
  }
  try {
    const r = await sensitive(() =>
      api(`/api/credentials/${encodeURIComponent(c.id)}${last ? "?confirm=true" : ""}`, undefined, "DELETE"),
    );
    signalAccepted(r.rpId, r.userId, r.acceptedCredentialIds);
    show(r.signedOut ? "Passkey deleted. You signed in with it, so you are signed out." : "Passkey deleted.", r.signedOut ? "info" : "ok");
  } catch (e) {
    show(explain(e, "deletion"), "error");
  }
  await refresh();
}

// The display name, changed here and then in the passkey manager's records.
function startNameChange(me) {
  $("name-editor").hidden = false;
  editor($("name-editor"), me.displayName, "Display name", { input: "display-name-input", save: "display-name-save" }, "name change", async (displayName) => {
    const r = await api("/api/me", { displayName }, "PATCH");
    signal("signalCurrentUserDetails", { rpId: r.rpId, userId: r.userId, name: r.username, displayName: r.displayName });
    show("Display name changed.", "ok");
  });
}

function renderSessions(list) {
  const ul = $("sessions");
  ul.replaceChildren();
  for (const s of list) {
    const li = document.createElement("li");
    li.dataset.id = s.id;
    const name = document.createElement("div");
    name.className = "name";
    name.textContent = s.current ? `${s.device} (this browser)` : s.device;
    name.title = s.userAgent;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `Signed in ${when(s.createdAt)} · last seen ${when(s.lastSeenAt)}`;
    const end = document.createElement("button");
    end.type = "button";
    end.className = "secondary end-session";
    end.textContent = s.current ? "Sign out" : "Sign out there";
    end.addEventListener("click", async () => {
      try {
        const r = await api(`/api/sessions/${encodeURIComponent(s.id)}`, undefined, "DELETE");
        show(r.signedOut ? "Signed out." : `Signed out ${s.device}.`, "ok");
      } catch (e) {
        show(explain(e, "sign-out"), "error");
      }
      await refresh();
    });
    li.append(name, meta, end);
    ul.append(li);
  }
}

async function refresh() {
  let me = null;
  try {
    me = await api("/api/me", undefined, "GET");
  } catch (e) {
    if (!(e instanceof ServerError && e.status === 401)) show(explain(e, "page load"), "error");
  }
  $("signed-in").hidden = !me;
  $("signed-out").hidden = !!me;
  // Sign-in through a phone (hybrid) only where the browser offers it.
  $("hybrid-button").hidden = capabilities.hybridTransport !== true;
  if (me) {
    await stopAutofill();
    $("me-name").textContent = me.displayName || me.username;
    $("name-editor").hidden = true;
    $("edit-name").onclick = () => startNameChange(me);
    renderPasskeys(me);
    try {
      renderSessions((await api("/api/sessions", undefined, "GET")).sessions);
    } catch (e) {
      show(explain(e, "page load"), "error");
    }
    if (location.pathname !== "/account") history.replaceState(null, "", "/account");
  } else {
    if (location.pathname !== "/") history.replaceState(null, "", "/");
    startAutofill();
  }
  return me;
}

document.addEventListener("DOMContentLoaded", async () => {
  if (!window.PublicKeyCredential) {
    show("This browser does not support passkeys.", "error");
  }
  $("register-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy($("register-button"), () => register($("register-username").value.trim(), $("register-display").value.trim()));
  });
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const u = $("signin-username").value.trim();
    busy($("signin-button"), () => signIn(u));
  });
  $("usernameless-button").addEventListener("click", () => busy($("usernameless-button"), () => signIn("")));
  $("hybrid-button").addEventListener("click", () => busy($("hybrid-button"), () => signIn("", ["hybrid"])));
  $("add-passkey").addEventListener("click", () => busy($("add-passkey"), () => addPasskey()));
  $("add-security-key").addEventListener("click", () => busy($("add-security-key"), () => addPasskey(["security-key"])));
  $("logout").addEventListener("click", async () => {
    await api("/api/logout", {});
    show("Signed out.", "info");
    await refresh();
  });
  await loadCapabilities();
  refresh();
});
