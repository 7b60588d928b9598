// Baseline for the load benchmark: the same four ceremony routes as keyhaven
// serve, written the way a typical @simplewebauthn/server user writes them —
// node:http, state in memory (Maps), single-use challenges, counter updates.
// PORT and ORIGIN from the environment; RP ID localhost.
import http from "node:http";
import { randomBytes } from "node:crypto";
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
} from "@simplewebauthn/server";

const port = Number(process.env.PORT || 8081);
const origin = process.env.ORIGIN || `http://localhost:${port}`;
const rpID = "localhost";

const users = new Map(); // username -> { id, username, credentials: [] }
const credentials = new Map(); // credential id -> { credential, username }
const challenges = new Map(); // challenge -> { kind, username, userID, expires }
const sessions = new Map(); // session id -> username

function send(res, status, obj, cookie) {
  const body = JSON.stringify(obj);
  const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) };
  if (cookie) headers["Set-Cookie"] = `sid=${cookie}; HttpOnly; SameSite=Lax; Path=/`;
  res.writeHead(status, headers);
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (c) => {
      data += c;
      if (data.length > 65536) reject(new Error("too large"));
    });
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

function challengeOf(response) {
  const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, "base64url").toString());
  return clientData.challenge;
}

function takeChallenge(challenge, kind) {
  const c = challenges.get(challenge);
  if (!c || c.kind !== kind || c.expires < Date.now()) return null;
  challenges.delete(challenge);
  return c;
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method !== "POST") return send(res, 404, { error: "not found" });
    if (req.headers.origin !== origin) return send(res, 403, { error: "bad origin" });
    const body = JSON.parse((await readBody(req)) || "{}");
    switch (req.url) {
      case "/api/registration/options": {
        if (users.has(body.username)) return send(res, 409, { error: "username taken" });
        const options = await generateRegistrationOptions({
          rpName: "baseline",
          rpID,
          userName: body.username,
          userDisplayName: body.displayName || body.username,
          authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
        });
        challenges.set(options.challenge, { kind: "reg", username: body.username, userID: options.user.id, expires: Date.now() + 300000 });
        return send(res, 200, options);
      }
      case "/api/registration/verify": {
        const expectedChallenge = challengeOf(body);
        const pending = takeChallenge(expectedChallenge, "reg");
        if (!pending) return send(res, 400, { verified: false, error: "unknown challenge" });
        const v = await verifyRegistrationResponse({ response: body, expectedChallenge, expectedOrigin: origin, expectedRPID: rpID });
        if (!v.verified) return send(res, 400, { verified: false, error: "not verified" });
        const user = { id: pending.userID, username: pending.username, credentials: [] };
        users.set(pending.username, user);
        const credential = v.registrationInfo.credential;
        user.credentials.push(credential);
        credentials.set(credential.id, { credential, username: pending.username });
        const sid = randomBytes(32).toString("base64url");
        sessions.set(sid, pending.username);
        return send(res, 200, { verified: true, credentialId: credential.id }, sid);
      }
      case "/api/authentication/options": {
        const user = body.username ? users.get(body.username) : null;
        const options = await generateAuthenticationOptions({
          rpID,
          userVerification: "preferred",
          allowCredentials: user ? user.credentials.map((c) => ({ id: c.id })) : [],
        });
        challenges.set(options.challenge, { kind: "auth", username: body.username, expires: Date.now() + 300000 });
        return send(res, 200, options);
      }
      case "/api/authentication/verify": {
        const expectedChallenge = challengeOf(body);
        const pending = takeChallenge(expectedChallenge, "auth");
        if (!pending) return send(res, 400, { verified: false, error: "unknown challenge" });
        const entry = credentials.get(body.id);
        if (!entry) return send(res, 400, { verified: false, error: "unknown credential" });
        const v = await verifyAuthenticationResponse({
          response: body,
          expectedChallenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          credential: entry.credential,
        });
        if (!v.verified) return send(res, 400, { verified: false, error: "not verified" });
        entry.credential.counter = v.authenticationInfo.newCounter;
        const sid = randomBytes(32).toString("base64url");
        sessions.set(sid, entry.username);
        return send(res, 200, { verified: true, username: entry.username }, sid);
      }
      default:
        return send(res, 404, { error: "not found" });
    }
  } catch (e) {
    return send(res, 400, { verified: false, error: String(e && e.message ? e.message : e) });
  }
});
server.keepAliveTimeout = 60000;
server.listen(port, "127.0.0.1", () => console.error(`baseline listening on 127.0.0.1:${port}`));
