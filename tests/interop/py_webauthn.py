#!/usr/bin/env python3
"""Interop: keyhaven's relying party and py_webauthn (PyPI `webauthn`) verify the
same W3C vectors and the same mutations, and must agree on every one.

argv[1]: the vectors JSON; argv[2]: the keyhaven binary.
Prints one line per case and 'N passed, M failed'; exits 1 on any disagreement.
"""

import base64
import json
import os
import subprocess
import sys

import webauthn
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.structs import AttestationFormat

from checks import check, finish, scratch


# Vectors py_webauthn handles as the spec intends (see ../shared/webauthn-test-vectors/README.md
# for the ones it cannot: ES384/Ed448 assertions, the TPM vendor id, the android-key root rule,
# the fido-u2f AAGUID rule).
REGISTRATIONS = [
    "none-es256", "packed-self-es256", "none-es256-long-credential-id", "packed-es256", "packed-es512",
    "packed-rs256", "packed-ed25519", "apple-es256",
]
AUTH_ONLY = ["tpm-es256", "fido-u2f-es256", "android-key-es256"]


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pem(der):
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n").encode()


def reg_json(v, mutate=None):
    d = {"id": v["credential_id_b64url"], "rawId": v["credential_id_b64url"], "type": "public-key",
         "clientExtensionResults": {}, "authenticatorAttachment": "cross-platform",
         "response": {"clientDataJSON": v["client_data_json_b64url"],
                      "attestationObject": v["attestation_object_b64url"], "transports": ["usb"]}}
    if mutate:
        mutate(d)
    return d


def auth_json(v, mutate=None):
    d = {"id": v["credential_id_b64url"], "rawId": v["credential_id_b64url"], "type": "public-key",
         "clientExtensionResults": {}, "authenticatorAttachment": "cross-platform",
         "response": {"clientDataJSON": v["client_data_json_b64url"],
                      "authenticatorData": v["authenticator_data_b64url"], "signature": v["signature_b64url"]}}
    if mutate:
        mutate(d)
    return d


def keyhaven(binary, args, stdin):
    out = subprocess.run([binary, "rp"] + args + ["-"], input=json.dumps(stdin).encode(), capture_output=True)
    return out.returncode, out.stdout.decode()


def py_register(v, d, challenge):
    roots = {}
    if v.get("attestation_trust_root"):
        root = pem(b64d(v["attestation_trust_root"]["cert_der_b64url"]))
        roots = {AttestationFormat(v["attestation_format"]): [root]}
    try:
        r = webauthn.verify_registration_response(
            credential=d, expected_challenge=challenge, expected_origin="https://example.org",
            expected_rp_id="example.org", require_user_verification=False, pem_root_certs_bytes_by_fmt=roots,
            supported_pub_key_algs=list(COSEAlgorithmIdentifier))
        return True, r
    except Exception as e:  # py_webauthn raises on any refusal
        return False, e


def main():
    vectors = {v["id"]: v for v in json.load(open(sys.argv[1]))}
    binary = sys.argv[2]
    tmp = scratch("keyhaven-interop-")
    root_path = os.path.join(tmp, "root.pem")
    records = {}

    def kh_register(v, d, challenge):
        args = ["verify-registration", "--rp-id", "example.org", "--challenge=" + b64e(challenge),
                "--now", "2026-01-01T00:00:00Z", "--user-handle", b64e(b"user-1")]
        if v.get("attestation_trust_root"):
            with open(root_path, "wb") as f:
                f.write(pem(b64d(v["attestation_trust_root"]["cert_der_b64url"])))
            args += ["--trust-root", root_path]
        return keyhaven(binary, args, d)

    registration_mutations = [
        ("as issued", None, None),
        ("wrong challenge", None, lambda c: bytes([c[0] ^ 1]) + c[1:]),
        ("flipped credential key byte (point off the curve, or a different key)", lambda d: d["response"].update(
            attestationObject=b64e(b64d(d["response"]["attestationObject"])[:-1]
                                   + bytes([b64d(d["response"]["attestationObject"])[-1] ^ 1]))), None),
        ("other origin", lambda d: d["response"].update(clientDataJSON=b64e(
            b64d(d["response"]["clientDataJSON"]).replace(b"https://example.org", b"https://example.net"))), None),
    ]
    for name in REGISTRATIONS:
        v = vectors[f"{name}.registration"]
        for label, mutate, chal in registration_mutations:
            challenge = b64d(v["challenge_b64url"])
            if chal:
                challenge = chal(challenge)
            d = reg_json(v, mutate)
            py_ok, py_r = py_register(v, d, challenge)
            code, out = kh_register(v, d, challenge)
            kh_ok = code == 0
            if label.startswith("flipped credential key") and v["attestation_format"] == "none":
                # Nothing signs a none registration: py_webauthn takes the damaged key as it is;
                # keyhaven refuses it as no valid public key (L3 §7.1 step 20, stricter).
                check(f"{name} registration, {label}: keyhaven refuses, py_webauthn accepts (nothing signed)",
                      not kh_ok and py_ok, f"{out.strip()[:200]} / {py_r}")
                continue
            check(f"{name} registration, {label}: keyhaven {'accepts' if kh_ok else 'refuses'}, py_webauthn "
                  f"{'accepts' if py_ok else 'refuses'}", py_ok == kh_ok and (label == "as issued") == kh_ok,
                  f"{out.strip()[:200]} / {py_r}")
            if label == "as issued" and kh_ok and py_ok:
                records[name] = (out, py_r.credential_public_key)

    for name in REGISTRATIONS + AUTH_ONLY:
        a = vectors[f"{name}.authentication"]
        if name not in records:
            reg = vectors.get(f"{name}.registration@L3-CR") or vectors[f"{name}.registration"]
            code, out = kh_register(reg, reg_json(reg), b64d(reg["challenge_b64url"]))
            if code != 0:
                check(f"{name}: keyhaven registers the paired vector", False, out)
                continue
            rec = json.loads(out)
            records[name] = (out, b64d(rec["publicKey"]))
        record_text, public_key = records[name]
        rec_path = os.path.join(tmp, f"{name}.json")
        with open(rec_path, "w") as f:
            f.write(record_text)
        sig = b64d(a["signature_b64url"])
        for label, mutate, chal in [
            ("as issued", None, None),
            ("wrong challenge", None, lambda c: bytes([c[0] ^ 1]) + c[1:]),
            ("flipped signature bit", lambda d: d["response"].update(
                signature=b64e(sig[:-2] + bytes([sig[-2] ^ 1]) + sig[-1:])), None),
            ("UP cleared", lambda d: d["response"].update(authenticatorData=b64e(
                (lambda ad: ad[:32] + bytes([ad[32] & 0xfe]) + ad[33:])(b64d(d["response"]["authenticatorData"])))), None),
        ]:
            challenge = b64d(a["challenge_b64url"])
            if chal:
                challenge = chal(challenge)
            d = auth_json(a, mutate)
            try:
                webauthn.verify_authentication_response(
                    credential=d, expected_challenge=challenge, expected_rp_id="example.org",
                    expected_origin="https://example.org", credential_public_key=public_key,
                    credential_current_sign_count=0, require_user_verification=False)
                py_ok, py_r = True, None
            except Exception as e:
                py_ok, py_r = False, e
            code, out = keyhaven(binary, ["verify-authentication", "--rp-id", "example.org",
                                          "--challenge=" + b64e(challenge), "--credential", rec_path], d)
            kh_ok = code == 0
            if name in ("packed-es384",):
                continue
            check(f"{name} authentication, {label}: keyhaven {'accepts' if kh_ok else 'refuses'}, py_webauthn "
                  f"{'accepts' if py_ok else 'refuses'}", py_ok == kh_ok and (label == "as issued") == kh_ok,
                  f"{out.strip()[:200]} / {py_r}")

    finish()


if __name__ == "__main__":
    main()
