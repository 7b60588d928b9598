"""A pytest plugin that puts `keyhaven authenticator serve --hid-socket` in
front of python-fido2's device test suite (tests/device of its PyPI sdist).

- fido2.hid's device discovery is pointed at the authenticator's CTAPHID Unix
  socket, so the suite's CtapHidDevice talks to it as to a USB key.
- The suite's "Pico controller" interface (--controller, the HTTP API its
  authors use to power-cycle and touch a real key) is served here: power off
  stops the authenticator process, power on starts it again on the same
  store under a new socket name (a re-plugged device is a new HID path);
  touch is a no-op because the authenticator runs with --presence always.
- Every test module starts from a factory reset (the suite's own reset, right
  after a power cycle), with the suite's test PIN set again.

Environment: KEYHAVEN_BIN, the keyhaven binary.
"""

import http.server
import os
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import fido2.hid
from fido2.hid import CtapHidDevice
from fido2.hid.base import HidDescriptor

BINARY = os.environ.get("KEYHAVEN_BIN", "target/debug/keyhaven")
PORT = 6


class SocketConnection:
    """A CtapHidConnection over the CTAPHID Unix socket (64-byte reports)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
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


class Power:
    """The authenticator process: on, off, and the socket it serves."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="keyhaven-ctap-suite.")
        self.store = os.path.join(self.dir, "store.khs")
        self.proc = None
        self.sock = None
        self.boots = 0
        self.lock = threading.Lock()

    def on(self):
        with self.lock:
            if self.proc is not None:
                return
            self.boots += 1
            self.sock = os.path.join(self.dir, f"hid-{self.boots}.sock")
            self.proc = subprocess.Popen(
                [BINARY, "authenticator", "serve", "--hid-socket", self.sock,
                 "--presence", "always", "--store", self.store],
                stderr=open(os.path.join(self.dir, "authenticator.log"), "a"),
            )
            for _ in range(400):
                if os.path.exists(self.sock):
                    return
                if self.proc.poll() is not None:
                    raise RuntimeError(f"authenticator exited with {self.proc.returncode}")
                time.sleep(0.025)
            raise RuntimeError("authenticator socket did not appear")

    def off(self):
        with self.lock:
            if self.proc is None:
                return
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            if self.sock and os.path.exists(self.sock):
                os.remove(self.sock)
            self.sock = None

    def descriptors(self):
        with self.lock:
            if self.proc is None or not self.sock or not os.path.exists(self.sock):
                return []
            return [HidDescriptor(self.sock, 0x1209, 0x0001, 64, 64, "keyhaven", None)]


POWER = Power()


def _list_descriptors():
    return iter(POWER.descriptors())


def _open_connection(descriptor):
    return SocketConnection(descriptor.path)


def _open_device(path):
    for d in POWER.descriptors():
        if d.path == path:
            return CtapHidDevice(d, SocketConnection(path))
    raise ValueError(f"no such device: {path!r}")


# The suite's conftest imports these names from fido2.hid when it is collected,
# after this plugin is loaded (-p).
fido2.hid.list_descriptors = _list_descriptors
fido2.hid.open_connection = _open_connection
fido2.hid.open_device = _open_device


class Controller(http.server.BaseHTTPRequestHandler):
    """The Pico controller API: /, /usbN/power/{on,off}, /usbN/touch/{on,off}."""

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        try:
            if parts == [""]:
                pass
            elif parts == [f"usb{PORT}", "power", "on"]:
                POWER.on()
            elif parts == [f"usb{PORT}", "power", "off"]:
                POWER.off()
            elif parts[:2] == [f"usb{PORT}", "touch"]:
                pass  # --presence always: every request for presence is approved
            else:
                self.send_error(404)
                return
        except Exception as e:  # reported to the suite as a failed request
            self.send_error(500, str(e))
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def pytest_configure(config):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Controller)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config.option.controller = f"http://127.0.0.1:{server.server_address[1]}"
    config.option.pico_port = PORT
    POWER.on()


def pytest_unconfigure(config):
    POWER.off()


@pytest.fixture(autouse=True, scope="module")
def _fresh_authenticator(request):
    """Each module starts from a factory reset with the suite's PIN set."""
    if "dev_manager" not in request.fixturenames:
        yield
        return
    manager = request.getfixturevalue("dev_manager")
    manager._factory_reset(setup=True)
    yield
