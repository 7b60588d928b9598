#!/usr/bin/env python3
"""Builds tests/realworld/cases/ from the real-world responses in peers' test suites.

Run by hand, not by the test command:

    python3 tests/realworld/extract.py PY_WEBAUTHN_CHECKOUT SIMPLEWEBAUTHN_CHECKOUT GO_WEBAUTHN_CHECKOUT [JAVA_WEBAUTHN_SERVER_CHECKOUT]

Only data is taken: each test's response JSON, RP ID, origin, challenge, the date it
fixed for certificate validity, the roots it configured, and whether the peer accepts
or refuses it. Nothing of the peers' code is copied. Where a test did not fix a value
that keyhaven needs (go-webauthn's format tests check the statement alone), it is
derived from the response itself and the case says so in "derived".

Each case records where it came from (repository, commit, path, test) and the peer's
outcome. cases/*.json are then reviewed by hand: "expect" starts equal to the peer's
outcome, and where keyhaven deliberately differs the case says why in "differs".
"""

import ast
import base64
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from urllib.parse import urlparse

import cbor2
from cryptography import x509

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def show(repo, path):
    return git(repo, "show", f"HEAD:{path}")


def commit_of(repo):
    return git(repo, "rev-parse", "HEAD").strip()


# --- what a response says about itself -------------------------------------------------


def client_data(resp):
    return json.loads(b64d(resp["response"]["clientDataJSON"]))


def auth_data_of(resp):
    r = resp["response"]
    if "attestationObject" in r:
        try:
            ao = cbor2.loads(b64d(r["attestationObject"]))
            return ao["authData"], ao
        except Exception:
            return b"", None
    return b64d(r["authenticatorData"]), None


def rp_id_for(resp, origin):
    """The RP ID whose SHA-256 is the response's rpIdHash: the origin's host or a parent."""
    ad, _ = auth_data_of(resp)
    host = urlparse(origin).hostname or ""
    labels = host.split(".")
    for i in range(len(labels)):
        cand = ".".join(labels[i:])
        if hashlib.sha256(cand.encode()).digest() == ad[:32]:
            return cand
    return None


def certs_of(ao):
    if ao is None:
        return []
    stmt = ao.get("attStmt")
    if not isinstance(stmt, dict):
        return []
    return [x509.load_der_x509_certificate(c) for c in stmt.get("x5c", []) if isinstance(c, bytes)]


def now_inside_validity(ao):
    """A time inside every x5c certificate's validity (the latest notBefore, plus a minute)."""
    certs = certs_of(ao)
    if not certs:
        return None
    start = max(c.not_valid_before_utc for c in certs)
    end = min(c.not_valid_after_utc for c in certs)
    t = start + dt.timedelta(minutes=1)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t < end else None


def safetynet_timestamp(ao):
    if ao is None or ao.get("fmt") != "android-safetynet":
        return None
    jws = ao["attStmt"]["response"].decode()
    payload = json.loads(b64d(jws.split(".")[1]))
    t = dt.datetime.fromtimestamp(payload["timestampMs"] / 1000, dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def canonical(resp):
    """Whether the attestation object is CTAP2 canonical CBOR (re-encoding gives the same bytes)."""
    r = resp["response"]
    if "attestationObject" not in r:
        return True
    raw = b64d(r["attestationObject"])
    try:
        return cbor2.dumps(cbor2.loads(raw), canonical=True) == raw
    except Exception:
        return None


# L3 §8: the attestation type each format's procedure returns.
TYPES = {"none": "None", "tpm": "AttCA", "android-key": "Basic", "android-safetynet": "Basic",
         "fido-u2f": "Basic", "apple": "AnonCA"}


def attestation_type(resp):
    _, ao = auth_data_of(resp)
    if ao["fmt"] == "packed":
        return "Basic" if "x5c" in ao["attStmt"] else "Self"
    return TYPES.get(ao["fmt"])


def write_case(name, case):
    path = os.path.join(CASES, name + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    old = {}
    if os.path.exists(path):
        old = json.load(open(path))
    # Hand-written review fields survive a re-extraction.
    for k in ("expect", "expect_strict", "differs", "device"):
        if k in old:
            case[k] = old[k]
    if "expect" not in case:
        case["expect"] = {"result": case["peer"]}
        if case["peer"] == "accept" and case.get("fmt"):
            case["expect"]["fmt"] = case["fmt"]
            case["expect"]["attestation_type"] = attestation_type(case["response"])
            case["expect"]["trusted"] = bool(case.get("roots"))
    with open(path, "w") as f:
        json.dump(case, f, indent=2)
        f.write("\n")


def finish(case, resp, derived):
    if case["ceremony"] == "registration" and case["peer"] == "accept":
        ad, _ = auth_data_of(resp)
        cred_id = b64e(ad[55 : 55 + int.from_bytes(ad[53:55], "big")]) if len(ad) > 55 else None
        if cred_id and resp.get("rawId") != cred_id:
            # The peer's test never compares rawId with the credential ID in authData, and the
            # test's rawId was made up or copied from another response. It is not signed, so
            # the case carries the credential's ID, and the statement is verified as intended.
            derived.append(f"rawId and id set to authData's credentialId (the test's was {resp.get('rawId')!r})")
            resp["rawId"] = resp["id"] = cred_id
    cd = client_data(resp)
    if not case.get("origins"):
        case["origins"] = [cd["origin"]]
        derived.append("origins (from clientDataJSON)")
    if not case.get("challenge"):
        case["challenge"] = cd["challenge"]
        derived.append("challenge (from clientDataJSON)")
    if not case.get("rp_id"):
        case["rp_id"] = rp_id_for(resp, case["origins"][0])
        derived.append("rp_id (the origin's host or parent whose SHA-256 is rpIdHash)")
    _, ao = auth_data_of(resp)
    ts = safetynet_timestamp(ao)
    if ts and case.get("now") and case["now"][:16] != ts[:16]:
        # keyhaven checks the attestation's timestamp against its clock (60 s).
        derived.append(f"now: the SafetyNet timestamp, not the test's {case['now']} (the peer skipped that check)")
        case["now"] = ts
    if not case.get("now"):
        now = safetynet_timestamp(ao) or now_inside_validity(ao)
        if now:
            case["now"] = now
            derived.append("now (inside the certificates' validity / the SafetyNet timestamp)")
    if "attestationObject" in resp["response"]:
        case["fmt"] = ao.get("fmt") if ao else None
        case["canonical_cbor"] = canonical(resp)
        if "roots" not in case and case["fmt"] in DEFAULT_ROOTS:
            case["roots"] = DEFAULT_ROOTS[case["fmt"]]
            derived.append("roots (the peer's default roots for the format)")
    if derived:
        case["derived"] = derived
    case["response"] = resp
    return case


# --- py_webauthn (Python tests: ast) ---------------------------------------------------

PY_ROOTS = {
    "globalsign_r2": "globalsign-r2.pem",
    "globalsign_root_ca": "globalsign-root-ca.pem",
    "apple_webauthn_root_ca": "apple-webauthn-root.pem",
}
GOOGLE_HW = [f"google-hardware-attestation-root-{i}.pem" for i in range(1, 5)]
# The roots py_webauthn and SimpleWebAuthn apply by default per format (public CA certificates).
DEFAULT_ROOTS = {
    "android-key": GOOGLE_HW,
    "android-safetynet": ["globalsign-root-ca.pem", "globalsign-r2.pem"],
    "apple": ["apple-webauthn-root.pem"],
}


def py_value(node, env):
    """Evaluates the literal forms the tests use for data."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.Call):
        fn = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if fn in ("base64url_to_bytes",) and node.args:
            v = py_value(node.args[0], env)
            return ("b64", v) if isinstance(v, str) else None
        if fn in ("parse_registration_credential_json", "parse_authentication_credential_json") and node.args:
            return py_value(node.args[0], env)
        if fn == "datetime":
            args = [py_value(a, env) for a in node.args]
            return dt.datetime(*args, tzinfo=dt.timezone.utc)
        if fn == "bytes" and node.args:
            return py_value(node.args[0], env)
        return None
    if isinstance(node, (ast.Dict, ast.List)):
        try:
            return ast.literal_eval(node)
        except ValueError:
            return None
    return None


def py_cases(repo):
    commit = commit_of(repo)
    files = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "tests/").split() if "test_verify_" in p]
    n = 0
    for path in files:
        tree = ast.parse(show(repo, path))
        for fn in ast.walk(tree):
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_")):
                continue
            if any("patch" in ast.unparse(d) and "x509store" not in ast.unparse(d) for d in fn.decorator_list):
                continue  # the response is altered by a mock at run time: not a real response
            env, call, raises, now = {}, None, False, None
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    env[node.targets[0].id] = py_value(node.value, env)
                if isinstance(node, ast.With) and "assertRaises" in ast.unparse(node.items[0].context_expr):
                    raises = True
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in ("verify_registration_response", "verify_authentication_response",
                                "verify_android_safetynet"):
                        call = node
                    if name == "set_time":
                        now = py_value(node.args[0], env)
            if call is None:
                continue
            kw = {k.arg: k.value for k in call.keywords}
            # The format's verifier called alone: the credential is the test's `credential`.
            cred = py_value(kw.get("credential", ast.Name("credential")), env)
            if isinstance(cred, str):
                cred = json.loads(cred)
            if not isinstance(cred, dict):
                continue
            ceremony = "authentication" if "authentication" in call.func.id else "registration"
            origin = py_value(kw.get("expected_origin"), env)
            origins = [o for o in (origin if isinstance(origin, list) else [origin]) if o]
            chal = py_value(kw.get("expected_challenge"), env)
            case = {
                "source": {"repo": "duo-labs/py_webauthn", "commit": commit, "path": path, "test": fn.name},
                "ceremony": ceremony,
                "rp_id": py_value(kw.get("expected_rp_id"), env),
                "origins": origins,
                "challenge": chal[1] if isinstance(chal, tuple) else None,
                "require_uv": py_value(kw.get("require_user_verification"), env) is True,
                "peer": "refuse" if raises else "accept",
            }
            if now:
                case["now"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            roots = kw.get("pem_root_certs_bytes_by_fmt")
            if roots is not None:
                case["roots"] = sorted({PY_ROOTS[n.id] for n in ast.walk(roots) if isinstance(n, ast.Name) and n.id in PY_ROOTS})
            if ceremony == "authentication":
                pk = py_value(kw.get("credential_public_key"), env)
                count = py_value(kw.get("credential_current_sign_count"), env)
                case["credential"] = {"public_key": pk[1], "sign_count": count or 0}
            stem = os.path.basename(path)[len("test_"):-len(".py")]
            write_case(f"py_webauthn/{stem}/{fn.name[len('test_'):]}", finish(case, cred, []))
            n += 1
    return n


# --- SimpleWebAuthn (TypeScript tests: a small reader for the literals they use) ------

TOKEN = re.compile(
    r"""\s+|//[^\n]*|/\*.*?\*/|(?P<str>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|`[^`$]*`)"""
    r"""|(?P<num>-?\d+(?:\.\d+)?)|(?P<id>[A-Za-z_$][\w$]*)|(?P<punct>\.\.\.|=>|[{}\[\](),:.;+=<>!?|&*-])""",
    re.S,
)


def ts_tokens(src):
    out, pos = [], 0
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m:
            out.append(("other", src[pos]))
            pos += 1
            continue
        pos = m.end()
        for kind in ("str", "num", "id", "punct"):
            if m.group(kind) is not None:
                out.append((kind, m.group(kind)))
    return out


class Unknown(Exception):
    pass


class TsReader:
    """Reads a TS expression made of literals, names of other such constants and the
    base64url helpers, into Python values. Anything else raises Unknown."""

    def __init__(self, toks, env):
        self.t, self.i, self.env = toks, 0, env

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else ("eof", "")

    def take(self, v=None):
        tok = self.peek()
        if v is not None and tok[1] != v:
            raise Unknown(f"expected {v}, found {tok[1]}")
        self.i += 1
        return tok

    def expr(self):
        v = self.primary()
        while self.peek()[1] == "+":
            self.take()
            w = self.primary()
            if not (isinstance(v, str) and isinstance(w, str)):
                raise Unknown("+ of non-strings")
            v += w
        return v

    def primary(self):
        kind, val = self.take()
        if kind == "str":
            return ast.literal_eval(val) if val[0] != "`" else val[1:-1]
        if kind == "num":
            return float(val) if "." in val else int(val)
        if val == "{":
            return self.obj()
        if val == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.expr())
                if self.peek()[1] == ",":
                    self.take()
            self.take("]")
            return items
        if kind == "id":
            if val in ("true", "false"):
                return val == "true"
            if val in ("null", "undefined"):
                return None
            if val == "new" and self.peek()[1] == "Date":
                self.take()
                self.take("(")
                d = self.expr()
                self.take(")")
                return ("date", d)
            name = val
            while self.peek()[1] == ".":
                self.take()
                name += "." + self.take()[1]
            if self.peek()[1] == "(":
                self.take()
                args = []
                while self.peek()[1] != ")":
                    args.append(self.expr())
                    if self.peek()[1] == ",":
                        self.take()
                self.take(")")
                if name in ("isoBase64URL.fromString", "isoBase64URL.fromUTF8String"):
                    return b64e(args[0].encode())
                if name == "isoBase64URL.toBuffer":
                    return args[0]
                raise Unknown(f"call {name}")
            head, *path = name.split(".")
            if head not in self.env:
                raise Unknown(f"name {name}")
            v = self.env[head]
            for p in path:
                v = v[p]
            return v
        raise Unknown(f"token {val}")

    def obj(self):
        out = {}
        while self.peek()[1] != "}":
            if self.peek()[1] == "...":
                self.take()
                out.update(self.expr())
            else:
                kind, key = self.take()
                key = ast.literal_eval(key) if kind == "str" else key
                if self.peek()[1] in (",", "}"):
                    out[key] = self.env[key] if key in self.env else self.fail(key)
                else:
                    self.take(":")
                    out[key] = self.expr()
            if self.peek()[1] == ",":
                self.take()
        self.take("}")
        return out

    def fail(self, key):
        raise Unknown(f"shorthand {key}")


def ts_block(src, start):
    """The index just past the brace/paren block opening at src[start] (strings and
    comments skipped)."""
    depth, i, quote = 0, start, None
    while i < len(src):
        c = src[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif src.startswith("//", i):
            i = src.find("\n", i)
        elif src.startswith("/*", i):
            i = src.find("*/", i) + 1
        elif c in "'\"`":
            quote = c
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def ts_consts(src, env):
    """`const NAME(: Type)? = EXPR;` declarations that read as data, in order."""
    for m in re.finditer(r"(?:export )?const (\w+)(?:\s*:\s*[\w.<>\[\]]+)?\s*=\s*", src):
        end = src.find(";\n", m.end())
        if end < 0:
            continue
        try:
            r = TsReader(ts_tokens(src[m.end() : end]), env)
            v = r.expr()
            if r.peek()[0] == "eof":
                env[m.group(1)] = v
        except (Unknown, IndexError, KeyError, TypeError, ValueError, SyntaxError):
            pass
    return env


def swa_cases(repo):
    commit = commit_of(repo)
    paths = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "packages/server/src/").split()
             if p.endswith(".test.ts") and ("registration/" in p or "authentication/" in p)]
    n = 0
    for path in paths:
        src = show(repo, path)
        top = ts_consts(src, {})
        for m in re.finditer(r"Deno\.test(\.ignore)?\(", src):
            end = ts_block(src, m.end() - 1)
            test = src[m.start() : end]
            title = re.match(r"Deno\.test(?:\.ignore)?\(\s*(?:\{\s*name:\s*)?'([^']*)'", test)
            if m.group(1) or "ignore: true" in test[:300] or not title or "stub(" in test:
                continue  # ignored by the peer, or the response is altered by a stub at run time
            call = re.search(r"verify(Registration|Authentication)Response\(", test)
            if not call:
                continue
            env = ts_consts(test, dict(top))
            try:
                # The call's one argument: an object literal.
                body = test[call.end() : ts_block(test, call.end() - 1) - 1]
                opts = TsReader(ts_tokens(body), env).expr()
            except (Unknown, IndexError, KeyError, TypeError, ValueError, SyntaxError) as e:
                print(f"  skipped {path}: {title.group(1)}: {e}", file=sys.stderr)
                continue
            chal = opts.get("expectedChallenge")
            if not isinstance(chal, str):
                continue  # a challenge-verifier function: nothing to pin
            derived = []
            try:
                if b64e(b64d(chal)) != chal:
                    raise ValueError
            except ValueError:
                # The peer compares challenge texts; keyhaven takes the issued bytes.
                derived.append(f"challenge: the bytes of the test's text {chal!r}, which is not base64url")
                chal = b64e(chal.encode())
            rpid = opts.get("expectedRPID")
            if isinstance(rpid, list):
                rpid = rpid[0] if "should throw" not in title.group(1) else rpid[0]
            origin = opts.get("expectedOrigin")
            ceremony = "registration" if call.group(1) == "Registration" else "authentication"
            case = {
                "source": {"repo": "MasterKale/SimpleWebAuthn", "commit": commit, "path": path, "test": title.group(1)},
                "ceremony": ceremony,
                "rp_id": rpid,
                "origins": origin if isinstance(origin, list) else [origin],
                "challenge": chal,
                "require_uv": opts.get("requireUserVerification", True) is not False,
                "peer": "refuse" if "assertRejects" in test[: call.start()] else "accept",
            }
            if "expectedType" in opts:
                continue  # Secure Payment Confirmation types: not a WebAuthn ceremony keyhaven runs
            fake = re.search(r"new FakeTime\(new Date\('([^']+)'\)\)", test)
            if fake:
                case["now"] = fake.group(1).replace(".000Z", "Z")
            if ceremony == "authentication":
                cred = opts.get("credential", {})
                case["credential"] = {"public_key": cred.get("publicKey"), "sign_count": cred.get("counter", 0)}
            name = re.sub(r"[^a-z0-9]+", "-", title.group(1).lower()).strip("-")[:70]
            stem = os.path.basename(path)[: -len(".test.ts")]
            # android-key roots the test (or the file, before its first test) sets.
            first = src.find("Deno.test(")
            for scope in (test, src[:first]):
                set_roots = re.search(r"setRootCertificates\(\{\s*identifier:\s*'android-key',\s*certificates:\s*\[([^\]]*)\]", scope)
                if set_roots:
                    case["roots"] = [f"google-hardware-attestation-root-{n}.pem"
                                     for n in re.findall(r"Google_Hardware_Attestation_Root_(\d)", set_roots.group(1))]
                    break
            write_case(f"simplewebauthn/{stem}/{name}", finish(case, opts["response"], derived))
            n += 1
    return n


# --- go-webauthn (Go tests: JSON in raw string literals) ------------------------------


def go_vars(src):
    """Each `var NAME = map[string]string{...}` / `[]string{...}`: [(key or index, JSON text)]."""
    out = {}
    for m in re.finditer(r"^var (\w+) = (map\[string\]string|\[\]string)\{", src, re.M):
        i, depth, raw = m.end(), 1, False
        while depth:
            c = src[i]
            if c == "`":
                raw = not raw
            elif not raw:
                depth += {"{": 1, "}": -1}.get(c, 0)
            i += 1
        body = src[m.end() : i - 1]
        if m.group(2).startswith("map"):
            entries = re.findall(r'(?:"(\w+)"|`(\w+)`)\s*:\s*`([^`]*)`', body)
            out[m.group(1)] = [(a or b, text) for a, b, text in entries]
        else:
            out[m.group(1)] = list(enumerate(re.findall(r"`([^`]*)`", body)))
    return out


def go_cases(repo):
    commit = commit_of(repo)
    n = 0
    for path in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "protocol/").split():
        if not path.endswith("_test.go"):
            continue
        variables = go_vars(show(repo, path))
        for var, entries in variables.items():
            for key, text in entries:
                try:
                    resp = json.loads(text)
                except ValueError:
                    resp = None
                if not isinstance(resp, dict) or "response" not in resp:
                    if "response" in text and key != "success":
                        pass
                    else:
                        continue
                # Options given beside the response: the same index of *Options, or *Request.
                opts = None
                for ov in (var.replace("Responses", "Options"), var.replace("Response", "Request")):
                    if ov != var and ov in variables:
                        opts = dict(variables[ov]).get(key)
                case = {
                    "source": {"repo": "go-webauthn/webauthn", "commit": commit, "path": path,
                               "test": f"{var}[{key!r}]" if isinstance(key, str) else f"{var}[{key}]"},
                    "peer": "accept" if isinstance(key, int) or key.startswith("success") else "refuse",
                }
                if resp is None:
                    # Not valid JSON (e.g. trailing data after the object): keyhaven must refuse too.
                    continue
                ceremony = "registration" if "attestationObject" in resp["response"] else "authentication"
                case["ceremony"] = ceremony
                if opts:
                    o = json.loads(opts)["publicKey"]
                    case["rp_id"] = o["rp"]["id"]
                    case["challenge"] = o["challenge"]
                    if o["rp"].get("name", "").startswith("http"):
                        case["origins"] = [o["rp"]["name"]]
                    case["require_uv"] = o.get("authenticatorSelection", {}).get("userVerification") == "required"
                if ceremony == "authentication":
                    continue  # go-webauthn's assertion data carries no stored key beside it
                # go-webauthn's tests configure no attestation roots (it takes them from MDS).
                case["roots"] = []
                name = os.path.basename(path)[: -len("_test.go")] + "/" + re.sub(r"\W+", "-", f"{var}-{key}").strip("-")
                write_case(f"go-webauthn/{name}", finish(case, resp, []))
                n += 1
    return n


# --- java-webauthn-server (Scala test data: RealExamples' ML-DSA YubiKey examples) ------


def java_cases(repo):
    """The ML-DSA-44/65/87 registrations and assertions of a YubiKey against the Yubico
    demo, from RealExamples.scala: each example's RP ID, client data, attestation object,
    and assertion (credential ID, client data, authenticator data, signature). The
    assertion's stored key and counter come from the example's own registration."""
    import io

    path = "webauthn-server-core/src/test/scala/com/yubico/webauthn/test/RealExamples.scala"
    src = show(repo, path)
    commit = commit_of(repo)
    std = lambda t: base64.b64decode(t)  # noqa: E731 - ByteArray.fromBase64
    n = 0
    for m in re.finditer(r"val (Mldsa\d+) = new Example\((.*?)\n  \)\n", src, re.S):
        name, block = m.group(1), m.group(2)
        rp_id = re.search(r'\.id\("([^"]+)"\)', block).group(1)
        att = re.search(
            r'AttestationExample\(\s*base64UrlToString\("([^"]+)"\),\s*ByteArray\.fromBase64\("([^"]+)"\)', block, re.S)
        ast_ = re.search(
            r'AssertionExample\(.*?id =\s*ByteArray\.fromBase64Url\("([^"]+)"\).*?clientData =\s*base64UrlToString\("([^"]+)"\)'
            r'.*?authDataBytes = ByteArray\.fromBase64\(\s*"([^"]+)"\s*\).*?sig =\s*ByteArray\.fromBase64\("([^"]+)"\)', block, re.S)
        cd_reg, ao_bytes = att.group(1), std(att.group(2))
        ao = cbor2.loads(ao_bytes)
        ad = ao["authData"]
        id_len = int.from_bytes(ad[53:55], "big")
        cred_id = ad[55 : 55 + id_len]
        dec = cbor2.CBORDecoder(io.BytesIO(ad[55 + id_len :]))
        dec.decode()
        cose = ad[55 + id_len : 55 + id_len + dec.fp.tell()]
        src_info = {"repo": "Yubico/java-webauthn-server", "commit": commit, "path": path}
        reg = {
            "id": b64e(cred_id), "rawId": b64e(cred_id), "type": "public-key",
            "response": {"clientDataJSON": cd_reg, "attestationObject": b64e(ao_bytes)},
            "clientExtensionResults": {},
        }
        case = {"source": {**src_info, "test": f"{name} (registration)"}, "ceremony": "registration",
                "rp_id": rp_id, "require_uv": False, "peer": "accept", "roots": [],
                "device": "YubiKey with ML-DSA (attestation by the Yubico 2026 FIDO Preview CA) on demo.yubico.com"}
        write_case(f"java-webauthn-server/RealExamples/{name}-registration", finish(case, reg, []))
        aid, acd, aad, sig = ast_.groups()
        auth = {
            "id": aid, "rawId": aid, "type": "public-key",
            "response": {"clientDataJSON": acd, "authenticatorData": b64e(std(aad)), "signature": b64e(std(sig))},
            "clientExtensionResults": {},
        }
        case = {"source": {**src_info, "test": f"{name} (assertion)"}, "ceremony": "authentication",
                "rp_id": rp_id, "require_uv": False, "peer": "accept",
                "credential": {"public_key": b64e(cose), "sign_count": int.from_bytes(ad[33:37], "big")},
                "device": "YubiKey with ML-DSA (attestation by the Yubico 2026 FIDO Preview CA) on demo.yubico.com"}
        write_case(f"java-webauthn-server/RealExamples/{name}-assertion", finish(case, auth, []))
        n += 2
    return n


if __name__ == "__main__":
    py, swa, go = sys.argv[1:4]
    if len(sys.argv) > 4:
        print("java-webauthn-server:", java_cases(sys.argv[4]))
        sys.exit(0)
    print("py_webauthn:", py_cases(py))
    print("go-webauthn:", go_cases(go))
    print("SimpleWebAuthn:", swa_cases(swa))
