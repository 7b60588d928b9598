// Interop: @simplewebauthn/server (npm) issues options, `keyhaven client` answers
// them through the software authenticator, and @simplewebauthn/server verifies
// the RegistrationResponseJSON / AuthenticationResponseJSON it prints.
// argv[2]: the keyhaven binary. Prints one line per check and "N passed, M failed".
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
} from "@simplewebauthn/server";

const keyhaven = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), "keyhaven-swa-"));
const origin = "https://login.example.org";
const rpID = "example.org";
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + detail}`);
}

function client(cmd, options, store, extra = []) {
  const file = join(dir, `${cmd}.json`);
  writeFileSync(file, JSON.stringify(options));
  const out = execFileSync(
    keyhaven,
    ["client", cmd, "--origin", origin, "--options", file, "--store", store, "--presence", "always", ...extra],
    { encoding: "utf8" },
  );
  return JSON.parse(out);
}

const cases = [
  { alg: -7, rk: "required", uv: "preferred", extra: [] },
  { alg: -7, rk: "discouraged", uv: "discouraged", extra: [] },
  { alg: -8, rk: "required", uv: "required", extra: ["--uv", "always"] },
  { alg: -257, rk: "preferred", uv: "preferred", extra: [] },
  { alg: -35, rk: "discouraged", uv: "required", extra: ["--uv", "always"] },
  { alg: -36, rk: "required", uv: "preferred", extra: [] },
  // Post-quantum: ML-DSA-44/65/87 (RFC 9964) with packed self attestation.
  { alg: -48, rk: "required", uv: "preferred", extra: [], attestation: "direct" },
  { alg: -49, rk: "discouraged", uv: "preferred", extra: [], attestation: "direct" },
  { alg: -50, rk: "preferred", uv: "required", extra: ["--uv", "always"], attestation: "direct" },
];

for (const [i, c] of cases.entries()) {
  const name = `alg ${c.alg} rk ${c.rk} uv ${c.uv}`;
  const store = join(dir, `store-${i}.khs`);
  try {
    const regOptions = await generateRegistrationOptions({
      rpName: "Example",
      rpID,
      userName: `user${i}`,
      supportedAlgorithmIDs: [c.alg],
      authenticatorSelection: { residentKey: c.rk, userVerification: c.uv },
      extensions: { credProps: true },
      attestationType: c.attestation || "none",
    });
    const reg = client("create", regOptions, store, c.extra);
    const v = await verifyRegistrationResponse({
      response: reg,
      expectedChallenge: regOptions.challenge,
      expectedOrigin: origin,
      expectedRPID: rpID,
      requireUserVerification: c.uv === "required",
      supportedAlgorithmIDs: [c.alg],
    });
    check(`${name}: registration verified`, v.verified === true);
    if (c.attestation) check(`${name}: packed attestation`, v.registrationInfo.fmt === "packed", v.registrationInfo.fmt);
    const cred = v.registrationInfo.credential;
    check(`${name}: publicKeyAlgorithm`, reg.response.publicKeyAlgorithm === c.alg);
    const authOptions = await generateAuthenticationOptions({
      rpID,
      userVerification: c.uv,
      allowCredentials: c.rk === "required" ? [] : [{ id: cred.id }],
    });
    const auth = client("get", authOptions, store, c.extra);
    const a = await verifyAuthenticationResponse({
      response: auth,
      expectedChallenge: authOptions.challenge,
      expectedOrigin: origin,
      expectedRPID: rpID,
      credential: cred,
      requireUserVerification: c.uv === "required",
    });
    check(`${name}: authentication verified`, a.verified === true);
    check(`${name}: counter advanced`, a.authenticationInfo.newCounter > cred.counter);
    // A replay of the same assertion with another challenge is refused.
    let refused = false;
    try {
      await verifyAuthenticationResponse({
        response: auth,
        expectedChallenge: "c29tZXRoaW5nIGVsc2U",
        expectedOrigin: origin,
        expectedRPID: rpID,
        credential: cred,
      });
    } catch {
      refused = true;
    }
    check(`${name}: other challenge refused`, refused);
  } catch (e) {
    check(name, false, String(e && e.message ? e.message : e));
  }
}

rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
