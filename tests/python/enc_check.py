#!/usr/bin/env python3
"""An independent checker for the `.enc` application cache format.

Written from ENCRYPTED_CACHE_FORMAT.md alone (not from the apps' module, not from the Rust
code), on `cryptography` for P-384/HKDF/PBKDF2/AES-GCM and `kyber-py` for round-3 Kyber768,
so the daemon's tests can cross-check the Rust implementation against it in both
directions.

Keys are read from and written to a JSON file in the Python keyring layout:
    {"service": "MyPersonalApplicationsService", "entries": {keyring user name: value}}
The passphrase override `<SERVICE upper-cased>_PASSPHRASE` is honoured as the apps do.

Subcommands (errors go to stderr with exit status 1):
    keygen  --type standard|quantum --app APP --out KEYS [--service S] [--passphrase P]
    unlock  --keys KEYS --app APP            prints {"app", "encryptor_type", "public_key_sha256"}
    decrypt --keys KEYS --app APP FILE       prints the plaintext to stdout
    encrypt --keys KEYS --app APP [--no-compress] INPUT OUTPUT
"""

import argparse
import hashlib
import json
import os
import struct
import sys
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from kyber_py.kyber import Kyber768

SERVICE = "MyPersonalApplicationsService"
HKDF_INFO = b"PersonalStandardEncryptor"
PBKDF2_ITERATIONS = 1_000_000
CHUNK = 500
QUANTUM_PUBLIC, QUANTUM_SECRET, QUANTUM_CIPHERTEXT = 1184, 2400, 1088


class CheckError(Exception):
    """A problem with a file or a key, reported without a traceback."""


def user_name(*parts):
    """Keyring user names join the non-empty parts with `__` (chunk 0 has no suffix)."""
    return "__".join(str(part) for part in parts if part != "")


# ---------------------------------------------------------------- the keyring layout


def load_keys(path):
    with open(path, "r", encoding="utf-8") as f:
        data = json.load(f)
    return data.get("service", SERVICE), data["entries"]


def entry(entries, name):
    if name not in entries:
        raise CheckError(f"keyring entry {name!r} is missing")
    return entries[name]


def chunked(entries, app, field):
    count = int(entry(entries, user_name(app, field, "count")))
    hexed = "".join(entry(entries, user_name(app, field, i if i else "")) for i in range(count))
    return bytes.fromhex(hexed)


def storage_key(passphrase, salt):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=PBKDF2_ITERATIONS)
    return kdf.derive(passphrase.encode())


def unlock(service, entries, app):
    """(encryptor type, public key bytes, private key bytes), the pair checked to match."""
    kind = entry(entries, user_name(app, "encryptor_type"))
    if kind not in ("standard", "quantum"):
        raise CheckError(f"unknown encryptor type {kind!r}")
    override = os.environ.get(f"{service.upper()}_PASSPHRASE")
    passphrase = override if override is not None else entry(entries, user_name(app, "passphrase"))
    salt = bytes.fromhex(entry(entries, user_name(app, "salt")))
    nonce = bytes.fromhex(entry(entries, user_name(app, "nonce")))
    tag = bytes.fromhex(entry(entries, user_name(app, "tag")))
    if (len(salt), len(nonce), len(tag)) != (16, 12, 16):
        raise CheckError("salt, nonce or tag has the wrong length")
    sealed = chunked(entries, app, "encrypted_priv")
    public = chunked(entries, app, "public_key")
    try:
        private = AESGCM(storage_key(passphrase, salt)).decrypt(nonce, sealed + tag, None)
    except InvalidTag:
        raise CheckError("the private key did not unseal: wrong passphrase") from None
    check_pair(kind, public, private)
    return kind, public, private


def check_pair(kind, public, private):
    if kind == "standard":
        derived = serialization.load_der_private_key(private, password=None).public_key()
        if derived.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo) != public:
            raise CheckError("the public key does not belong to the private key")
    else:
        if len(public) != QUANTUM_PUBLIC or len(private) != QUANTUM_SECRET:
            raise CheckError("quantum keys have the wrong sizes")
        sent, ciphertext = Kyber768.encaps(public)
        if Kyber768.decaps(private, ciphertext) != sent:
            raise CheckError("the public key does not belong to the private key")


def seal(kind, public, private, passphrase):
    """The keyring entries of one app (without the app prefix applied)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(storage_key(passphrase, salt)).encrypt(nonce, private, None)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    entries = {
        "encryptor_type": kind,
        "passphrase": passphrase,
        "salt": salt.hex(),
        "nonce": nonce.hex(),
        "tag": tag.hex(),
    }
    for field, value in (("encrypted_priv", ciphertext), ("public_key", public)):
        hexed = value.hex()
        chunks = [hexed[i:i + CHUNK] for i in range(0, len(hexed), CHUNK)]
        entries[user_name(field, "count")] = str(len(chunks))
        for i, chunk in enumerate(chunks):
            entries[user_name(field, i if i else "")] = chunk
    return entries


def generate(kind):
    if kind == "standard":
        key = ec.generate_private_key(ec.SECP384R1())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return public, private
    public, private = Kyber768.keygen()
    return public, private


# ---------------------------------------------------------------- the file format


def parse(data):
    def need(offset, size, field):
        if len(data) < offset + size:
            raise CheckError(f"truncated in the {field}: need {size} bytes at offset {offset}, "
                             f"file has {max(0, len(data) - offset)}")
    need(0, 4, "length prefix")
    (key_len,) = struct.unpack(">I", data[:4])
    if key_len > 65536:
        raise CheckError(f"implausible encapsulated key length {key_len}")
    need(4, key_len, "encapsulated key")
    at = 4 + key_len
    need(at, 12, "nonce")
    need(at + 12, 16, "GCM tag")
    need(at + 28, 1, "compression flag")
    flag = data[at + 28]
    if flag not in (0, 1):
        raise CheckError(f"unknown compression flag 0x{flag:02x}")
    return data[4:at], data[at:at + 12], data[at + 12:at + 28], flag, data[at + 29:]


def aes_key_for_decrypt(kind, private, encapsulated):
    if kind == "standard":
        key = serialization.load_der_private_key(private, password=None)
        ephemeral = serialization.load_der_public_key(encapsulated)
        shared = key.exchange(ec.ECDH(), ephemeral)
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(shared)
    if len(encapsulated) != QUANTUM_CIPHERTEXT:
        raise CheckError(f"a quantum file's encapsulated key has {QUANTUM_CIPHERTEXT} bytes, "
                         f"not {len(encapsulated)}")
    return Kyber768.decaps(private, encapsulated)


def aes_key_for_encrypt(kind, public):
    if kind == "standard":
        recipient = serialization.load_der_public_key(public)
        ephemeral = ec.generate_private_key(ec.SECP384R1())
        shared = ephemeral.exchange(ec.ECDH(), recipient)
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(shared)
        encapsulated = ephemeral.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return encapsulated, key
    key, ciphertext = Kyber768.encaps(public)
    return ciphertext, key


def decrypt(kind, private, data):
    encapsulated, nonce, tag, flag, ciphertext = parse(data)
    key = aes_key_for_decrypt(kind, private, encapsulated)
    try:
        payload = AESGCM(key).decrypt(nonce, ciphertext + tag, None)
    except InvalidTag:
        raise CheckError("the GCM tag did not verify: wrong key or damaged file") from None
    return zlib.decompress(payload) if flag == 1 else payload


def encrypt(kind, public, plaintext, compress=True):
    flag, payload = 0, plaintext
    if compress:
        compressed = zlib.compress(plaintext, 9)
        if len(compressed) < len(plaintext):
            flag, payload = 1, compressed
    encapsulated, key = aes_key_for_encrypt(kind, public)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, payload, None)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return (struct.pack(">I", len(encapsulated)) + encapsulated + nonce + tag + bytes([flag])
            + ciphertext)


# ---------------------------------------------------------------- commands


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen")
    keygen.add_argument("--type", choices=("standard", "quantum"), required=True)
    keygen.add_argument("--app", required=True)
    keygen.add_argument("--out", required=True)
    keygen.add_argument("--service", default=SERVICE)
    keygen.add_argument("--passphrase")
    for name in ("unlock", "decrypt", "encrypt"):
        command = commands.add_parser(name)
        command.add_argument("--keys", required=True)
        command.add_argument("--app", required=True)
    commands.choices["decrypt"].add_argument("file")
    commands.choices["encrypt"].add_argument("--no-compress", action="store_true")
    commands.choices["encrypt"].add_argument("input")
    commands.choices["encrypt"].add_argument("output")
    args = parser.parse_args(argv)

    if args.command == "keygen":
        public, private = generate(args.type)
        passphrase = args.passphrase or os.urandom(32).hex()
        entries = {}
        if os.path.exists(args.out):
            _, entries = load_keys(args.out)
        for field, value in seal(args.type, public, private, passphrase).items():
            entries[user_name(args.app, field)] = value
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"service": args.service, "entries": entries}, f, indent=1, sort_keys=True)
        return 0

    service, entries = load_keys(args.keys)
    kind, public, private = unlock(service, entries, args.app)
    if args.command == "unlock":
        print(json.dumps({"app": args.app, "encryptor_type": kind,
                          "public_key_sha256": hashlib.sha256(public).hexdigest()}))
    elif args.command == "decrypt":
        with open(args.file, "rb") as f:
            sys.stdout.buffer.write(decrypt(kind, private, f.read()))
    else:
        with open(args.input, "rb") as f:
            data = encrypt(kind, public, f.read(), compress=not args.no_compress)
        with open(args.output, "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (CheckError, ValueError, KeyError, zlib.error) as err:
        print(f"enc_check: {err}", file=sys.stderr)
        sys.exit(1)
