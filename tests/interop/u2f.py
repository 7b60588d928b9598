#!/usr/bin/env python3
"""Interop, CTAP1/U2F: python-fido2's Ctap1 drives `keyhaven authenticator
serve --hid-socket` over CTAPHID_MSG (register, authenticate, check-only, the
status words of bad APDUs); the U2F registration then signs through CTAP2
getAssertion with the appid extension from `keyhaven client get` (checked
with `cryptography`); and py_webauthn verifies the fido-u2f attestation that
`keyhaven client create` produces with a U2F-only authenticator
(`serve --u2f-only`), and the assertion after it.

argv[1]: the keyhaven binary. Prints one line per check and 'N passed, M failed'.
"""

import atexit
import hashlib
import json
import os
import subprocess
import sys
import time

import webauthn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.ctap1 import APDU, ApduError, Ctap1
from fido2.hid import CAPABILITY, CTAPHID, CtapHidDevice
from fido2.hid.base import HidDescriptor
from fido2.utils import websafe_encode
from webauthn.helpers import options_to_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier as Alg
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ctap-suite"))
from keyhaven_device import SocketConnection  # noqa: E402

from checks import attempt, check, finish, scratch

KEYHAVEN = sys.argv[1]
ORIGIN = "https://login.example.org"
RP_ID = "example.org"
APPID = "https://login.example.org/appid.json"
tmp = scratch("keyhaven-u2f-")
procs = []
atexit.register(lambda: [p.kill() for p in procs])


def serve(name, *flags):
    sock = os.path.join(tmp, name + ".sock")
    p = subprocess.Popen([KEYHAVEN, "authenticator", "serve", "--hid-socket", sock, "--presence", "always",
                          "--store", os.path.join(tmp, name + ".khs"), *flags])
    procs.append(p)
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.025)
    return sock


def device(sock):
    return CtapHidDevice(HidDescriptor(sock, 0x1209, 1, 64, 64, "keyhaven", None), SocketConnection(sock))


def client(cmd, options_json, sock):
    path = os.path.join(tmp, cmd + ".json")
    with open(path, "w") as f:
        f.write(options_json)
    # One CTAPHID connection at a time: the caller closes its own first.
    return subprocess.run([KEYHAVEN, "client", cmd, "--origin", ORIGIN, "--options", path, "--hid-socket", sock],
                          capture_output=True, text=True)


def status_of(ctap1, **apdu):
    try:
        ctap1.send_apdu(**apdu)
        return APDU.OK
    except ApduError as e:
        return e.code


def ctap1_then_ctap2_with_appid():
    sock = serve("both")
    dev = device(sock)
    check("INIT: CBOR and U2F (NMSG clear)",
          bool(dev.capabilities & CAPABILITY.CBOR) and not dev.capabilities & CAPABILITY.NMSG)
    ctap1 = Ctap1(dev)
    check("U2F_VERSION is U2F_V2", ctap1.get_version() == "U2F_V2")
    app = hashlib.sha256(APPID.encode()).digest()
    challenge = os.urandom(32)
    reg = ctap1.register(challenge, app)
    reg.verify(app, challenge)  # raises if the attestation signature is wrong
    check("U2F_REGISTER: the attestation signature verifies", len(reg.key_handle) <= 255)
    sig = ctap1.authenticate(challenge, app, reg.key_handle)
    sig.verify(app, challenge, reg.public_key)
    check("U2F_AUTHENTICATE: signature verifies, counter 1, user present",
          sig.counter == 1 and sig.user_presence & 1 == 1)
    check("check-only on our key handle: 0x6985",
          status_of(ctap1, ins=Ctap1.INS.AUTHENTICATE, p1=0x07,
                    data=os.urandom(32) + app + bytes([len(reg.key_handle)]) + reg.key_handle) == 0x6985)
    bad = bytearray(reg.key_handle)
    bad[-1] ^= 1
    check("a tampered key handle: 0x6A80",
          status_of(ctap1, ins=Ctap1.INS.AUTHENTICATE, p1=0x03,
                    data=os.urandom(32) + app + bytes([len(bad)]) + bytes(bad)) == 0x6A80)
    check("wrong CLA: 0x6E00", status_of(ctap1, cla=0x80, ins=Ctap1.INS.VERSION) == 0x6E00)
    check("unknown INS: 0x6D00", status_of(ctap1, ins=0x42) == 0x6D00)
    check("register with 63 bytes: 0x6700", status_of(ctap1, ins=Ctap1.INS.REGISTER, data=b"\0" * 63) == 0x6700)
    raw = dev.call(CTAPHID.MSG, bytes([0, 1, 0, 0, 2, 0]))  # Lc says 2, one byte follows
    check("short Lc over CTAPHID_MSG: 0x6700", raw[-2:] == b"\x67\x00", raw.hex())
    dev.close()

    # keyhaven client get: appid through CTAP2 getAssertion.
    options = {
        "challenge": websafe_encode(os.urandom(32)),
        "rpId": RP_ID,
        "allowCredentials": [{"type": "public-key", "id": websafe_encode(reg.key_handle)}],
        "userVerification": "discouraged",
        "extensions": {"appid": APPID},
    }
    out = client("get", json.dumps(options), sock)
    check("keyhaven client get with appid exits 0", out.returncode == 0, out.stderr)
    if out.returncode != 0:
        return
    resp = json.loads(out.stdout)
    r = resp["response"]
    auth_data = webauthn.helpers.base64url_to_bytes(r["authenticatorData"])
    cdj = webauthn.helpers.base64url_to_bytes(r["clientDataJSON"])
    check("clientExtensionResults.appid is true", resp["clientExtensionResults"].get("appid") is True,
          resp["clientExtensionResults"])
    check("rpIdHash is the appid's", auth_data[:32] == app)
    counter = int.from_bytes(auth_data[33:37], "big")
    check("the counter goes on from U2F's", counter > sig.counter, counter)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), reg.public_key)
    try:
        key.verify(webauthn.helpers.base64url_to_bytes(r["signature"]),
                   auth_data + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
        check("the CTAP2 assertion verifies with the U2F public key (cryptography)", True)
    except Exception as e:  # noqa: BLE001
        check("the CTAP2 assertion verifies with the U2F public key (cryptography)", False, repr(e))


def u2f_only_with_py_webauthn():
    sock = serve("u2f-only", "--u2f-only")
    dev = device(sock)
    check("--u2f-only: INIT without CBOR", not dev.capabilities & CAPABILITY.CBOR)
    dev.close()
    opts = webauthn.generate_registration_options(
        rp_id=RP_ID, rp_name="Example", user_name="u2f-user", supported_pub_key_algs=[Alg.ECDSA_SHA_256],
        attestation=AttestationConveyancePreference.DIRECT,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.DISCOURAGED),
    )
    out = client("create", options_to_json(opts), sock)
    check("keyhaven client create against a U2F-only authenticator exits 0", out.returncode == 0, out.stderr)
    if out.returncode != 0:
        return
    reg = webauthn.verify_registration_response(
        credential=out.stdout, expected_challenge=opts.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID,
        supported_pub_key_algs=[Alg.ECDSA_SHA_256])
    check("py_webauthn verifies the fido-u2f attestation", reg.fmt == "fido-u2f", reg.fmt)
    aopts = webauthn.generate_authentication_options(
        rp_id=RP_ID, allow_credentials=[PublicKeyCredentialDescriptor(id=reg.credential_id)],
        user_verification=UserVerificationRequirement.DISCOURAGED)
    out = client("get", options_to_json(aopts), sock)
    check("keyhaven client get against a U2F-only authenticator exits 0", out.returncode == 0, out.stderr)
    if out.returncode != 0:
        return
    auth = webauthn.verify_authentication_response(
        credential=out.stdout, expected_challenge=aopts.challenge, expected_origin=ORIGIN, expected_rp_id=RP_ID,
        credential_public_key=reg.credential_public_key, credential_current_sign_count=0,
        require_user_verification=False)
    check("py_webauthn verifies the U2F assertion", auth.new_sign_count == 1, auth.new_sign_count)


for f in (ctap1_then_ctap2_with_appid, u2f_only_with_py_webauthn):
    attempt(f.__name__, f)

finish()
