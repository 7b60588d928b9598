"""What every interop script shares: one line per check ('ok   NAME' or
'FAIL NAME: DETAIL'), a closing 'N passed, M failed' that scripts/test adds up,
exit status 1 on any failure or when nothing passed, and scratch directories
removed at exit."""

import atexit
import shutil
import sys
import tempfile

passed = 0
failed = 0


def check(name, ok, detail=""):
    """Counts and prints one check."""
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def attempt(name, fn):
    """Runs fn; any exception it raises (a peer's, an assertion) is a failed check."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any failure is a failed check, with its reason
        check(name, False, f"{type(e).__name__}: {e}")


def scratch(prefix):
    """A fresh directory, removed when the script exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def finish():
    """Prints the totals and exits: 1 on any failure or when nothing passed."""
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)
