#!/usr/bin/env python3
"""Interop: py_webauthn (PyPI `webauthn`) issues options, `keyhaven client`
answers them through the software authenticator, and py_webauthn verifies the
RegistrationResponseJSON / AuthenticationResponseJSON it prints.

argv[1]: the keyhaven binary. Prints one line per check and 'N passed, M failed'.
"""

import os
import subprocess
import sys

import webauthn
from webauthn.helpers import options_to_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier as Alg
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from checks import check, finish, scratch

KEYHAVEN = sys.argv[1]
ORIGIN = "https://login.example.org"
RP_ID = "example.org"
tmp = scratch("keyhaven-pyw-")


def client(cmd, options_json, store, extra, env=None):
    path = os.path.join(tmp, cmd + ".json")
    with open(path, "w") as f:
        f.write(options_json)
    return subprocess.run(
        [KEYHAVEN, "client", cmd, "--origin", ORIGIN, "--options", path, "--store", store,
         "--presence", "always", *extra],
        capture_output=True, text=True, env=env,
    )


CASES = [
    (Alg.ECDSA_SHA_256, ResidentKeyRequirement.REQUIRED, UserVerificationRequirement.PREFERRED, []),
    (Alg.ECDSA_SHA_256, ResidentKeyRequirement.DISCOURAGED, UserVerificationRequirement.DISCOURAGED, []),
    (Alg.EDDSA, ResidentKeyRequirement.REQUIRED, UserVerificationRequirement.REQUIRED, ["--uv", "always"]),
    (Alg.RSASSA_PKCS1_v1_5_SHA_256, ResidentKeyRequirement.PREFERRED, UserVerificationRequirement.PREFERRED, []),
    (Alg.ECDSA_SHA_512, ResidentKeyRequirement.DISCOURAGED, UserVerificationRequirement.REQUIRED, ["--uv", "always"]),
    # Post-quantum: ML-DSA (RFC 9964), discoverable and not.
    (Alg.ML_DSA_44, ResidentKeyRequirement.REQUIRED, UserVerificationRequirement.PREFERRED, []),
    (Alg.ML_DSA_65, ResidentKeyRequirement.DISCOURAGED, UserVerificationRequirement.PREFERRED, []),
    (Alg.ML_DSA_87, ResidentKeyRequirement.PREFERRED, UserVerificationRequirement.REQUIRED, ["--uv", "always"]),
]

for i, (alg, rk, uv, extra) in enumerate(CASES):
    name = f"{alg.name} rk={rk.value} uv={uv.value}"
    store = os.path.join(tmp, f"store-{i}.khs")
    try:
        # ML-DSA credentials are asked for with attestation: py_webauthn
        # then verifies their packed self attestation (an ML-DSA signature).
        pq = alg.name.startswith("ML_DSA")
        opts = webauthn.generate_registration_options(
            rp_id=RP_ID, rp_name="Example", user_name=f"user{i}",
            supported_pub_key_algs=[alg],
            authenticator_selection=AuthenticatorSelectionCriteria(resident_key=rk, user_verification=uv),
            attestation=AttestationConveyancePreference.DIRECT if pq else AttestationConveyancePreference.NONE,
        )
        out = client("create", options_to_json(opts), store, extra)
        check(f"{name}: create exits 0", out.returncode == 0, out.stderr)
        reg = webauthn.verify_registration_response(
            credential=out.stdout, expected_challenge=opts.challenge, expected_origin=ORIGIN,
            expected_rp_id=RP_ID, require_user_verification=uv == UserVerificationRequirement.REQUIRED,
            supported_pub_key_algs=[alg],
        )
        check(f"{name}: registration verified", reg.credential_id is not None)
        if pq:
            check(f"{name}: packed self attestation", reg.fmt == AttestationFormat.PACKED, str(reg.fmt))
        allow = [] if rk == ResidentKeyRequirement.REQUIRED else [
            PublicKeyCredentialDescriptor(id=reg.credential_id)]
        aopts = webauthn.generate_authentication_options(rp_id=RP_ID, allow_credentials=allow,
                                                         user_verification=uv)
        out = client("get", options_to_json(aopts), store, extra)
        check(f"{name}: get exits 0", out.returncode == 0, out.stderr)
        auth = webauthn.verify_authentication_response(
            credential=out.stdout, expected_challenge=aopts.challenge, expected_origin=ORIGIN,
            expected_rp_id=RP_ID, credential_public_key=reg.credential_public_key,
            credential_current_sign_count=reg.sign_count,
            require_user_verification=uv == UserVerificationRequirement.REQUIRED,
        )
        check(f"{name}: authentication verified", auth.new_sign_count > reg.sign_count)
    except Exception as e:  # noqa: BLE001 - any failure is a failed check
        check(name, False, repr(e))

# Refusals: the CLI names the DOMException and exits 1; malformed options exit 2.
store = os.path.join(tmp, "store-0.khs")
opts = webauthn.generate_authentication_options(rp_id="example.com")
out = client("get", options_to_json(opts), store, [])
check("RP ID of another site: exit 1, SecurityError",
      out.returncode == 1 and out.stderr.startswith("keyhaven: SecurityError:"), out.stderr)
out = client("get", '{"challenge": 5}', store, [])
check("malformed options: exit 2", out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr)
opts = webauthn.generate_authentication_options(
    rp_id=RP_ID, allow_credentials=[PublicKeyCredentialDescriptor(id=b"\x01" * 32)])
out = client("get", options_to_json(opts), store, [])
check("unknown credential: exit 1, NotAllowedError",
      out.returncode == 1 and out.stderr.startswith("keyhaven: NotAllowedError:"), out.stderr)

finish()
