#!/usr/bin/env python3
"""python-fido2 drives `keyhaven authenticator serve --stdio` through a small
CtapDevice adapter (4-byte big-endian length framing): its Ctap2 class
(getInfo, makeCredential, getAssertion, getNextAssertion), ClientPin with
protocols 1 and 2, and its Fido2Client doing a full WebAuthn registration and
assertion, which py_webauthn then verifies.

argv[1]: the keyhaven binary. Prints 'N passed, M failed'; exits 1 on failure.
"""

import hashlib
import os
import struct
import subprocess
import sys

from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import CtapDevice, CtapError
from fido2.ctap2 import ClientPin, CredentialManagement, Ctap2, LargeBlobs
from fido2.ctap2.pin import PinProtocolV1, PinProtocolV2
from fido2.hid import CAPABILITY, CTAPHID
from fido2.webauthn import (
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRequestOptions,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
)
import webauthn

from checks import attempt, check, finish, scratch



class StdioDevice(CtapDevice):
    """A CtapDevice speaking keyhaven's stdio framing."""

    def __init__(self, binary, store):
        self.proc = subprocess.Popen(
            [binary, "authenticator", "serve", "--stdio", "--presence", "always", "--store", store],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    @property
    def capabilities(self):
        return CAPABILITY.CBOR

    def call(self, cmd, data=b"", event=None, on_keepalive=None):
        if cmd != CTAPHID.CBOR:
            raise CtapError(CtapError.ERR.INVALID_COMMAND)
        self.proc.stdin.write(struct.pack(">I", len(data)) + data)
        self.proc.stdin.flush()
        n = struct.unpack(">I", self.proc.stdout.read(4))[0]
        return self.proc.stdout.read(n)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)

    @classmethod
    def list_devices(cls):
        return iter(())


class SocketConnection:
    """A CtapHidConnection over keyhaven's CTAPHID Unix socket (64-byte reports)."""

    def __init__(self, path):
        import socket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)

    def write_packet(self, data):
        self.sock.sendall(data.ljust(64, b"\0"))

    def read_packet(self):
        buf = b""
        while len(buf) < 64:
            chunk = self.sock.recv(64 - len(buf))
            if not chunk:
                raise OSError("socket closed")
            buf += chunk
        return buf

    def close(self):
        self.sock.close()


class PinUser(UserInteraction):
    def __init__(self, pin):
        self.pin = pin

    def request_pin(self, permissions, rp_id):
        return self.pin

    def request_uv(self, permissions, rp_id):
        return True


def main():
    binary = sys.argv[1]
    tmp = scratch("keyhaven-interop-")

    def ctap2_and_pin():
        for proto_cls in (PinProtocolV1, PinProtocolV2):
            dev = StdioDevice(binary, os.path.join(tmp, f"ctap-{proto_cls.VERSION}.khs"))
            ctap = Ctap2(dev)
            info = ctap.get_info()
            check(f"getInfo via python-fido2 (protocol {proto_cls.VERSION})",
                  "FIDO_2_1" in info.versions and info.options.get("rk") is True)
            pin = ClientPin(ctap, proto_cls())
            pin.set_pin("4321")
            check(f"ClientPin.set_pin (protocol {proto_cls.VERSION})", pin.get_pin_retries()[0] == 8)
            token = pin.get_pin_token("4321", ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.GET_ASSERTION,
                                      "example.org")
            proto = pin.protocol
            for i in range(3):
                cdh = hashlib.sha256(b"make %d" % i).digest()
                att = ctap.make_credential(
                    cdh, {"id": "example.org", "name": "Example"},
                    {"id": bytes([i]) * 8, "name": f"user{i}", "displayName": f"User {i}"},
                    [{"type": "public-key", "alg": -7}], options={"rk": True},
                    pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION)
                check(f"makeCredential {i} with a PIN token (protocol {proto_cls.VERSION})",
                      att.fmt == "packed" and att.auth_data.is_user_verified())
            cdh = hashlib.sha256(b"get").digest()
            first = ctap.get_assertion("example.org", cdh, pin_uv_param=proto.authenticate(token, cdh),
                                       pin_uv_protocol=proto.VERSION)
            check(f"getAssertion counts 3 accounts (protocol {proto_cls.VERSION})",
                  first.number_of_credentials == 3 and first.user["id"] == bytes([2]) * 8)
            nxt = [ctap.get_next_assertion() for _ in range(2)]
            check(f"getNextAssertion walks the other accounts (protocol {proto_cls.VERSION})",
                  [a.user["id"] for a in nxt] == [bytes([1]) * 8, bytes([0]) * 8])
            try:
                pin.get_pin_token("0000")
                check("wrong PIN refused", False)
            except CtapError as e:
                check(f"wrong PIN refused with PIN_INVALID (protocol {proto_cls.VERSION})",
                      e.code == CtapError.ERR.PIN_INVALID)
            check(f"retries count down (protocol {proto_cls.VERSION})", pin.get_pin_retries()[0] == 7)
            # CredentialManagement with a cm token.
            cm_token = pin.get_pin_token("4321", ClientPin.PERMISSION.CREDENTIAL_MGMT)
            cm = CredentialManagement(ctap, pin.protocol, cm_token)
            R = CredentialManagement.RESULT
            meta = cm.get_metadata()
            check(f"credentialManagement metadata (protocol {proto_cls.VERSION})", meta[R.EXISTING_CRED_COUNT] == 3)
            rps = cm.enumerate_rps()
            check(f"credentialManagement enumerates RPs (protocol {proto_cls.VERSION})",
                  len(rps) == 1 and rps[0][R.RP]["id"] == "example.org")
            creds = cm.enumerate_creds(rps[0][R.RP_ID_HASH])
            check(f"credentialManagement enumerates credentials (protocol {proto_cls.VERSION})",
                  len(creds) == 3 and all(c[R.PUBLIC_KEY][3] == -7 for c in creds))
            first_cred = creds[0][R.CREDENTIAL_ID]
            cm.update_user_info(first_cred, {"id": creds[0][R.USER]["id"], "name": "renamed", "displayName": "Renamed"})
            renamed = [c for c in cm.enumerate_creds(rps[0][R.RP_ID_HASH]) if c[R.CREDENTIAL_ID]["id"] == first_cred["id"]]
            check(f"credentialManagement updates user information (protocol {proto_cls.VERSION})",
                  renamed and renamed[0][R.USER].get("name") == "renamed")
            cm.delete_cred(first_cred)
            check(f"credentialManagement deletes a credential (protocol {proto_cls.VERSION})",
                  cm.get_metadata()[R.EXISTING_CRED_COUNT] == 2)
            # Large blobs through a credential's largeBlobKey.
            token = pin.get_pin_token("4321", ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.LARGE_BLOB_WRITE,
                                      "example.org")
            cdh = hashlib.sha256(b"lbk").digest()
            att = ctap.make_credential(
                cdh, {"id": "example.org", "name": "Example"}, {"id": b"lb-user", "name": "lb"},
                [{"type": "public-key", "alg": -7}], extensions={"largeBlobKey": True}, options={"rk": True},
                pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION)
            check(f"makeCredential returns a largeBlobKey (protocol {proto_cls.VERSION})",
                  att.large_blob_key is not None and len(att.large_blob_key) == 32)
            lb = LargeBlobs(ctap, pin.protocol, token)
            check(f"largeBlobs: the initial array is empty (protocol {proto_cls.VERSION})", lb.read_blob_array() == [])
            lb.put_blob(att.large_blob_key, b"hello large blob" * 40)
            check(f"largeBlobs: a blob written in fragments reads back (protocol {proto_cls.VERSION})",
                  LargeBlobs(ctap).get_blob(att.large_blob_key) == b"hello large blob" * 40)
            dev.close()

    def webauthn_client():
        dev = StdioDevice(binary, os.path.join(tmp, "client.khs"))
        pin = ClientPin(Ctap2(dev))
        pin.set_pin("4321")
        client = Fido2Client(dev, client_data_collector=DefaultClientDataCollector("https://example.org"),
                             user_interaction=PinUser("4321"))
        challenge = os.urandom(32)
        options = PublicKeyCredentialCreationOptions(
            rp=PublicKeyCredentialRpEntity(name="Example", id="example.org"),
            user=PublicKeyCredentialUserEntity(name="alice", id=b"alice-id", display_name="Alice"),
            challenge=challenge,
            pub_key_cred_params=[PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=-7)],
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED),
        )
        reg = client.make_credential(options)
        verified = webauthn.verify_registration_response(
            credential=dict(reg), expected_challenge=challenge, expected_origin="https://example.org",
            expected_rp_id="example.org", require_user_verification=True)
        check("Fido2Client registration verified by py_webauthn", verified.fmt == "packed")
        challenge = os.urandom(32)
        result = client.get_assertion(PublicKeyCredentialRequestOptions(
            challenge=challenge, rp_id="example.org", user_verification=UserVerificationRequirement.REQUIRED))
        assertion = result.get_response(0)
        auth = webauthn.verify_authentication_response(
            credential=dict(assertion), expected_challenge=challenge, expected_rp_id="example.org",
            expected_origin="https://example.org", credential_public_key=verified.credential_public_key,
            credential_current_sign_count=0, require_user_verification=True)
        check("Fido2Client assertion verified by py_webauthn", auth.new_sign_count == 1)
        dev.close()

    def ctaphid():
        import time
        from fido2.hid import CtapHidDevice
        from fido2.hid.base import HidDescriptor
        sock = os.path.join(tmp, "hid.sock")
        proc = subprocess.Popen([binary, "authenticator", "serve", "--hid-socket", sock, "--presence", "always",
                                 "--store", os.path.join(tmp, "hid.khs")])
        try:
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)
            desc = HidDescriptor(sock, 0, 0, 64, 64, "keyhaven", None)
            dev = CtapHidDevice(desc, SocketConnection(sock))
            check("CTAPHID INIT: python-fido2 sees CTAPHID protocol 2 with CBOR",
                  dev.version == 2 and bool(dev.capabilities & CAPABILITY.CBOR))
            payload = os.urandom(3000)
            check("CTAPHID PING echoes a 3000-byte message", dev.ping(payload) == payload)
            dev.wink()
            check("CTAPHID WINK answered", True)
            ctap = Ctap2(dev)
            check("CTAP2 over CTAPHID: getInfo", "FIDO_2_2" in ctap.get_info().versions)
            cdh = hashlib.sha256(b"hid").digest()
            att = ctap.make_credential(cdh, {"id": "example.org", "name": "Example"}, {"id": b"hid-user", "name": "h"},
                                       [{"type": "public-key", "alg": -7}], options={"rk": True})
            assertion = ctap.get_assertion("example.org", cdh)
            check("CTAP2 over CTAPHID: makeCredential then getAssertion",
                  att.fmt == "packed" and assertion.user["id"] == b"hid-user")
            dev.close()
        finally:
            proc.kill()
            proc.wait()

    attempt("Ctap2 and ClientPin", ctap2_and_pin)
    attempt("CTAPHID over a Unix socket", ctaphid)
    attempt("Fido2Client with py_webauthn", webauthn_client)
    finish()


if __name__ == "__main__":
    main()
