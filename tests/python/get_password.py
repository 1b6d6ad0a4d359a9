"""Read keyring entries the way the Python apps do (keyring.get_password), for tests.

Usage: get_password.py SERVICE USER          prints the value; exit 1 when there is none
       get_password.py --json SERVICE USER...  prints {"user": value or null, ...}

Test helper only: it prints secret values, which is what a test compares.
"""

import json
import sys

import keyring
from keyring.backends import SecretService


def main() -> int:
    args = sys.argv[1:]
    as_json = bool(args) and args[0] == "--json"
    if as_json:
        args = args[1:]
    if len(args) < 2 or (not as_json and len(args) != 2):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    keyring.set_keyring(SecretService.Keyring())
    service, users = args[0], args[1:]
    values = {user: keyring.get_password(service, user) for user in users}
    if as_json:
        print(json.dumps(values))
        return 0
    value = values[users[0]]
    if value is None:
        print(f"no entry for service {service}, user {users[0]}", file=sys.stderr)
        return 1
    print(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
