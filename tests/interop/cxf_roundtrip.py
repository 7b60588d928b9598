#!/usr/bin/env python3
"""Interop: passkeys move between two keyhaven authenticator stores through a
CXF document, and py_webauthn (PyPI `webauthn`) verifies that the moved
passkeys still sign in.

For each algorithm: py_webauthn's registration options are answered by
`keyhaven client create --store A --zero-counters`; `keyhaven authenticator
export --format cxf --store A --out F` writes the document (checked: mode
0600, CXF shape); `keyhaven authenticator import F --store B` reads it; then
py_webauthn's authentication options (usernameless and with
allowCredentials) are answered by `keyhaven client get --store B`, and
py_webauthn verifies the assertions with the public key it registered, with
signCount 0 every time. Then what an export leaves out (a passkey whose
counter moved) and what an import refuses (a duplicate, a malformed
document), with exit status 2 and the store unchanged.

argv[1]: the keyhaven binary. Prints one line per check and 'N passed, M failed'.
"""

import json
import os
import stat
import subprocess
import sys

import webauthn
from webauthn.helpers import options_to_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier as Alg
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from checks import check, finish, scratch

KEYHAVEN = sys.argv[1]
ORIGIN = "https://login.example.org"
RP_ID = "example.org"
tmp = scratch("keyhaven-cxf-")


def run(*args):
    return subprocess.run([KEYHAVEN, *args], capture_output=True, text=True)


def client(cmd, options_json, store, *extra):
    path = os.path.join(tmp, cmd + ".json")
    with open(path, "w") as f:
        f.write(options_json)
    return run("client", cmd, "--origin", ORIGIN, "--options", path, "--store", store,
               "--presence", "always", *extra)


def by_id(reg_list):
    return {r.credential_id: r for _, r, _ in reg_list}


def sign_in(name, store, reg, allow, known=None):
    """Two sign-ins from `store`; py_webauthn verifies both with counter 0.
    Usernameless (no `allow`), the account chosen may be any of `known`."""
    for round_ in (1, 2):
        aopts = webauthn.generate_authentication_options(
            rp_id=RP_ID, allow_credentials=allow,
            user_verification=UserVerificationRequirement.PREFERRED)
        out = client("get", options_to_json(aopts), store)
        if out.returncode != 0:
            check(f"{name}: sign-in {round_}", False, out.stderr)
            return
        got = reg
        if known is not None:
            raw = webauthn.base64url_to_bytes(json.loads(out.stdout)["rawId"])
            got = known.get(raw)
            if got is None:
                check(f"{name}: sign-in {round_}", False, "a credential that was not registered")
                return
        try:
            auth = webauthn.verify_authentication_response(
                credential=out.stdout, expected_challenge=aopts.challenge, expected_origin=ORIGIN,
                expected_rp_id=RP_ID, credential_public_key=got.credential_public_key,
                credential_current_sign_count=0, require_user_verification=False,
            )
        except Exception as e:  # noqa: BLE001 - any failure is a failed check
            check(f"{name}: sign-in {round_}", False, repr(e))
            return
        check(f"{name}: sign-in {round_} verified, signCount 0",
              auth.new_sign_count == 0 and auth.credential_id == got.credential_id,
              str(auth.new_sign_count))


CASES = [Alg.ECDSA_SHA_256, Alg.EDDSA, Alg.RSASSA_PKCS1_v1_5_SHA_256, Alg.ECDSA_SHA_512, Alg.ML_DSA_65]
src = os.path.join(tmp, "source.khs")
regs = []
for i, alg in enumerate(CASES):
    opts = webauthn.generate_registration_options(
        rp_id=RP_ID, rp_name="Example", user_name=f"user{i}", supported_pub_key_algs=[alg],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED))
    out = client("create", options_to_json(opts), src, "--zero-counters")
    if out.returncode != 0:
        check(f"{alg.name}: create", False, out.stderr)
        continue
    reg = webauthn.verify_registration_response(
        credential=out.stdout, expected_challenge=opts.challenge, expected_origin=ORIGIN,
        expected_rp_id=RP_ID, supported_pub_key_algs=[alg])
    regs.append((alg, reg, f"user{i}"))
check("five passkeys registered in the source store", len(regs) == len(CASES), str(len(regs)))

# A passkey of the source store that is used once before the export: with
# --zero-counters its counter stays 0, so it moves too.
alg0, reg0, _ = regs[0]
sign_in(f"{alg0.name} (source store, before the export)", src, reg0,
        [PublicKeyCredentialDescriptor(id=reg0.credential_id)])

doc_path = os.path.join(tmp, "export.cxf.json")
out = run("authenticator", "export", "--format", "cxf", "--store", src, "--out", doc_path)
check("export exits 0 and says how many", out.returncode == 0
      and out.stderr.strip() == f"exported {len(CASES)} passkeys", out.stderr)
mode = stat.S_IMODE(os.stat(doc_path).st_mode)
check("the export file has mode 0600", mode == 0o600, oct(mode))
with open(doc_path) as f:
    doc = json.load(f)
creds = [c for a in doc["accounts"] for i in a["items"] for c in i["credentials"]]
check("the document is CXF 1.0 with one passkey item each",
      doc["version"] == {"major": 1, "minor": 0} and len(creds) == len(CASES)
      and all(c["type"] == "passkey" and c["rpId"] == RP_ID for c in creds), json.dumps(doc)[:200])
out = run("authenticator", "export", "--store", src, "--out", doc_path)
check("export does not write over an existing file: exit 2",
      out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr)

dst = os.path.join(tmp, "destination.khs")
out = run("authenticator", "import", doc_path, "--store", dst)
check("import into a new store", out.returncode == 0
      and out.stdout.strip() == f"imported {len(CASES)} passkeys", out.stdout + out.stderr)
sign_in("usernameless from the importing store", dst, None, [], by_id(regs))
for alg, reg, user in regs:
    sign_in(f"{alg.name} from the importing store", dst, reg,
            [PublicKeyCredentialDescriptor(id=reg.credential_id)])

# Importing the same document again: refused whole, the store unchanged.
before = run("authenticator", "list", "--store", dst, "--json").stdout
out = run("authenticator", "import", doc_path, "--store", dst)
check("a duplicate import is refused: exit 2, one line, names the credential",
      out.returncode == 2 and out.stderr.count("\n") == 1 and "is already in the store" in out.stderr,
      out.stderr)
check("the store is unchanged after the refusal",
      run("authenticator", "list", "--store", dst, "--json").stdout == before)

# A malformed document into a store that does not exist: refused, no store left behind.
bad = os.path.join(tmp, "bad.json")
doc["accounts"][0]["items"][0]["credentials"][0]["key"] = "MAMCAQA"
with open(bad, "w") as f:
    json.dump(doc, f)
fresh = os.path.join(tmp, "never.khs")
out = run("authenticator", "import", bad, "--store", fresh)
check("a passkey with a bad key refuses the file: exit 2",
      out.returncode == 2 and "key: invalid private key" in out.stderr, out.stderr)
check("no store is left behind by a refused import",
      not os.path.exists(fresh) and not os.path.exists(fresh + ".key"), str(os.listdir(tmp)))

# A counting passkey (made without --zero-counters, then used) is left out.
counting = os.path.join(tmp, "counting.khs")
opts = webauthn.generate_registration_options(
    rp_id=RP_ID, rp_name="Example", user_name="counted",
    authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED))
out = client("create", options_to_json(opts), counting)
aopts = webauthn.generate_authentication_options(rp_id=RP_ID)
used = client("get", options_to_json(aopts), counting)
fresh_opts = webauthn.generate_registration_options(
    rp_id=RP_ID, rp_name="Example", user_name="unused",
    authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED))
unused = client("create", options_to_json(fresh_opts), counting)
out = run("authenticator", "export", "--store", counting, "--out", os.path.join(tmp, "counting.json"))
check("a passkey whose counter moved is left out, and the export says so",
      used.returncode == 0 and unused.returncode == 0 and out.returncode == 0
      and out.stderr.strip() == "exported 1 passkeys; left out 1 whose signature counter is not zero "
      "(CXF moves only passkeys with a zero counter)", out.stderr)

finish()
