"""Load a keyring JSON file into the Secret Service exactly as the Python apps store keys.

Usage: load_keyring.py KEYRING_JSON

KEYRING_JSON has the shape of shared/compat/vectors/keyring.json:
{"service": "...", "entries": {"user": "value", ...}}. Every entry goes through
keyring.set_password(service, user, value), the call the apps make. The Secret Service
backend is used explicitly, so a missing D-Bus session fails loudly instead of falling back
to another backend. Run it inside the test's D-Bus session (dbus-run-session).
"""

import json
import sys

import keyring
from keyring.backends import SecretService


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    keyring.set_keyring(SecretService.Keyring())
    for user, value in data["entries"].items():
        keyring.set_password(data["service"], user, value)
    print(f"loaded {len(data['entries'])} entries of service {data['service']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
