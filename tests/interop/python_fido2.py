#!/usr/bin/env python3
"""Interop between keyhaven and two independent Python peers: python-fido2 and
pyca/cryptography.

Direction 1 (keyhaven -> peers): keys, signatures, attestation objects,
clientDataJSON and CTAP2 responses produced by keyhaven (examples/interop_gen.rs,
JSON on argv[1]) must parse in python-fido2, re-encode to the same bytes, and
verify with python-fido2 and cryptography.

Direction 2 (peers -> keyhaven): CTAP2 requests, getInfo responses and
authenticator data built by python-fido2 must be decoded by `keyhaven inspect`
(binary on argv[2]) to the same values.

Prints one line per check and a closing 'N passed, M failed'; exits 1 on failure.
"""

import hashlib
import json
import subprocess
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from fido2 import cbor
from fido2.cose import CoseKey
from fido2.ctap2 import AssertionResponse, AttestationResponse, Info
from fido2.webauthn import (
    AttestationObject,
    AuthenticatorData,
    AttestedCredentialData,
    CollectedClientData,
)

from checks import attempt, check, finish



def crypto_verify(spki, alg, msg, sig):
    pub = serialization.load_der_public_key(spki)
    if alg in (-7, -35, -36):
        h = {-7: hashes.SHA256(), -35: hashes.SHA384(), -36: hashes.SHA512()}[alg]
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        pub.verify(sig, msg, ec.ECDSA(h))
    elif alg == -8:
        assert isinstance(pub, ed25519.Ed25519PublicKey)
        pub.verify(sig, msg)
    elif alg == -257:
        assert isinstance(pub, rsa.RSAPublicKey)
        pub.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError(f"unexpected alg {alg}")


def keyhaven_to_peers(data):
    for k in data["keys"]:
        alg = k["alg"]
        cose, spki = bytes.fromhex(k["cose"]), bytes.fromhex(k["spki"])
        msg, sig = bytes.fromhex(k["message"]), bytes.fromhex(k["signature"])

        def crypto_case():
            crypto_verify(spki, alg, msg, sig)
            check(f"cryptography verifies keyhaven {alg} signature via SPKI", True)
            try:
                crypto_verify(spki, alg, msg + b"x", sig)
                check(f"cryptography rejects altered {alg} message", False)
            except Exception:
                check(f"cryptography rejects altered {alg} message", True)

        attempt(f"cryptography {alg}", crypto_case)

        def fido2_case():
            key = CoseKey.parse(cbor.decode(cose))
            key.verify(msg, sig)
            check(f"python-fido2 CoseKey verifies keyhaven {alg} signature", True)
            peer = CoseKey.for_alg(alg).from_cryptography_key(serialization.load_der_public_key(spki))
            check(f"python-fido2 encodes the same COSE_Key for {alg}", cbor.encode(dict(peer)) == cose,
                  f"{cbor.encode(dict(peer)).hex()} != {cose.hex()}")

        attempt(f"python-fido2 COSE {alg}", fido2_case)

    for c in data["ceremonies"]:
        alg = c["alg"]

        def attestation_case():
            raw = bytes.fromhex(c["attestation_object"])
            ao = AttestationObject(raw)
            check(f"python-fido2 parses attestationObject ({alg})", ao.fmt == "packed")
            check(f"python-fido2 re-encodes attestationObject byte-exactly ({alg})", bytes(ao) == raw)
            cd = ao.auth_data.credential_data
            check(f"credentialId and AAGUID agree ({alg})",
                  cd.credential_id == bytes.fromhex(c["credential_id"]) and bytes(cd.aaguid) == b"\x42" * 16)
            check(f"credentialPublicKey agrees ({alg})", cbor.encode(dict(cd.public_key)) == bytes.fromhex(c["cose"]))
            check(f"flags, counter, extensions agree ({alg})",
                  ao.auth_data.flags == 0x01 | 0x04 | 0x08 | 0x40 | 0x80 and ao.auth_data.counter == 1
                  and ao.auth_data.extensions == {"credProtect": 2})
            client_data = CollectedClientData(bytes.fromhex(c["registration_client_data"]))
            check(f"python-fido2 parses clientDataJSON ({alg})",
                  client_data.type == "webauthn.create" and client_data.origin == "https://example.org")
            # packed self attestation: the credential key signs authData || clientDataHash.
            cd.public_key.verify(bytes(ao.auth_data) + client_data.hash, ao.att_stmt["sig"])
            check(f"python-fido2 verifies keyhaven packed self attestation ({alg})", True)
            mc = bytes.fromhex(c["make_credential_response"])
            resp = AttestationResponse.from_dict(cbor.decode(mc[1:]))
            check(f"python-fido2 parses CTAP2 makeCredential response ({alg})",
                  mc[0] == 0 and resp.fmt == "packed" and bytes(resp.auth_data) == bytes(ao.auth_data))

        attempt(f"attestation {alg}", attestation_case)

        def assertion_case():
            msg = bytes.fromhex(c["get_assertion_response"])
            check(f"status byte is CTAP2_OK ({alg})", msg[0] == 0)
            resp = AssertionResponse.from_dict(cbor.decode(msg[1:]))
            check(f"python-fido2 parses getAssertion response members ({alg})",
                  resp.credential["id"] == bytes.fromhex(c["credential_id"]) and resp.user["id"] == b"user-1"
                  and resp.number_of_credentials == 1 and resp.auth_data.counter == 2)
            client_data_hash = hashlib.sha256(bytes.fromhex(c["assertion_client_data"])).digest()
            resp.verify(client_data_hash, CoseKey.parse(cbor.decode(bytes.fromhex(c["cose"]))))
            check(f"python-fido2 verifies keyhaven assertion signature ({alg})", True)
            check(f"python-fido2 re-encodes getAssertion response byte-exactly ({alg})",
                  cbor.encode(cbor.decode(msg[1:])) == msg[1:])

        attempt(f"assertion {alg}", assertion_case)


def inspect(binary, blob, kind):
    out = subprocess.run([binary, "inspect", "--json", "--as", kind], input=blob.hex().encode(),
                         capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode().strip())
    return json.loads(out.stdout)["value"]


def peers_to_keyhaven(binary):
    def get_assertion_request():
        req = {1: "example.org", 2: b"\x11" * 32,
               3: [{"type": "public-key", "id": b"\x22" * 16, "transports": ["usb", "nfc"]}],
               5: {"up": True, "uv": False}, 7: 2}
        v = inspect(binary, b"\x02" + cbor.encode(req), "ctap-request")
        p = v["parameters"]
        check("keyhaven decodes python-fido2 getAssertion request",
              v["command"].startswith("authenticatorGetAssertion") and p["rpId (0x01)"] == "example.org"
              and p["clientDataHash (0x02)"]["hex"] == "11" * 32 and p["pinUvAuthProtocol (0x07)"] == 2
              and p["allowList (0x03)"][0]["transports"] == ["usb", "nfc"], json.dumps(v))

    def make_credential_request():
        req = {1: b"\x33" * 32, 2: {"id": "example.org", "name": "Example"},
               3: {"id": b"u1", "name": "alice", "displayName": "Alice"},
               4: [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -8}],
               7: {"rk": True}, 0x0B: ["packed", "none"]}
        v = inspect(binary, b"\x01" + cbor.encode(req), "ctap-request")
        p = v["parameters"]
        check("keyhaven decodes python-fido2 makeCredential request",
              p["rp (0x02)"]["id"] == "example.org" and p["pubKeyCredParams (0x04)"] == ["ES256 (-7)", "EdDSA (-8)"]
              and p["options (0x07)"] == {"rk": True}
              and p["attestationFormatsPreference (0x0b)"] == ["packed", "none"], json.dumps(v))

    def get_info_response():
        info = {1: ["FIDO_2_0", "FIDO_2_1", "FIDO_2_2"], 2: ["credProtect", "hmac-secret"], 3: b"\x44" * 16,
                4: {"rk": True, "up": True, "clientPin": False}, 5: 1200, 6: [2, 1],
                0x0A: [{"type": "public-key", "alg": -7}], 0x14: 25}
        parsed = Info.from_dict(info)  # the peer accepts what it encodes
        check("python-fido2 builds getInfo", parsed.aaguid == b"\x44" * 16)
        v = inspect(binary, b"\x00" + cbor.encode(info), "ctap-response")
        b = v["body"]
        check("keyhaven decodes python-fido2 getInfo response",
              v["responseTo"] == "authenticatorGetInfo" and b["aaguid (0x03)"] == "44444444-4444-4444-4444-444444444444"
              and b["pinUvAuthProtocols (0x06)"] == [2, 1] and b["remainingDiscoverableCredentials (0x14)"] == 25,
              json.dumps(v))

    def authenticator_data():
        key = CoseKey.for_alg(-7).from_cryptography_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        acd = AttestedCredentialData.create(b"\x55" * 16, b"\x66" * 20, key)
        ad = AuthenticatorData.create(hashlib.sha256(b"example.org").digest(), 0x45 | 0x80, 7, acd,
                                      {"credProtect": 3})
        v = inspect(binary, bytes(ad), "authdata")
        check("keyhaven decodes python-fido2 authenticatorData",
              v["signCount"] == 7 and v["flags"]["set"] == "UP UV AT ED"
              and v["attestedCredentialData"]["credentialIdLength"] == 20
              and v["extensions"] == {"credProtect": 3}, json.dumps(v))

    def client_data():
        cd = CollectedClientData.create("webauthn.get", b"\x77" * 32, "https://example.org", True)
        v = inspect(binary, bytes(cd), "clientdata")
        check("keyhaven decodes python-fido2 clientDataJSON",
              v["type"] == "webauthn.get" and v["crossOrigin"] is True and v["challengeHex"] == "77" * 32,
              json.dumps(v))

    for name, fn in [("getAssertion request", get_assertion_request), ("makeCredential request", make_credential_request),
                     ("getInfo response", get_info_response), ("authenticatorData", authenticator_data),
                     ("clientDataJSON", client_data)]:
        attempt(name, fn)


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    keyhaven_to_peers(data)
    peers_to_keyhaven(sys.argv[2])
    finish()


if __name__ == "__main__":
    main()
