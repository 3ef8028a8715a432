"""K.sec: bcrypt password hashes and password-based authenticated encryption.

aesEncrypt: AES-256-GCM, key = PBKDF2-HMAC-SHA256(password, random 16-byte salt),
output = base64("KS1" + salt + nonce + ciphertext+tag). A wrong password or a damaged
ciphertext makes aesDecrypt return a failure value.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import TYPE_CHECKING, Any

import bcrypt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from runtime.binds import Bind, Failed, Misuse

if TYPE_CHECKING:
    from runtime.invocation import Invocation

MAGIC = b"KS1"
PBKDF2_ITERATIONS = 20_000
BCRYPT_ROUNDS = 10

JS = r"""
K.sec = {
  passwordHash: function passwordHash(password) { return host('sec.hash', StringCtor(password)); },
  passwordVerify: function passwordVerify(password, hash) { return host('sec.verify', [StringCtor(password), StringCtor(hash)]); },
  aesEncrypt: function aesEncrypt(plaintext, password) { return host('sec.enc', [StringCtor(plaintext), StringCtor(password)]); },
  aesDecrypt: function aesDecrypt(ciphertext, password) { return host('sec.dec', [StringCtor(ciphertext), StringCtor(password)]); },
};
"""


def _key(password: str, salt: bytes) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=PBKDF2_ITERATIONS)
    return kdf.derive(password.encode("utf-8", "surrogatepass"))


def _hash(inv: Invocation, password: str) -> str:
    secret = password.encode("utf-8", "surrogatepass")
    if len(secret) > 72:
        raise Misuse("K.sec.passwordHash: passwords longer than 72 bytes are not supported")
    return bcrypt.hashpw(secret, bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def _verify(inv: Invocation, args: Any) -> bool:
    password, hashed = args
    secret = password.encode("utf-8", "surrogatepass")
    try:
        return bcrypt.checkpw(secret[:72], hashed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


def _encrypt(inv: Invocation, args: Any) -> str:
    plaintext, password = args
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(password, salt)).encrypt(nonce, plaintext.encode("utf-8", "surrogatepass"), MAGIC)
    return base64.b64encode(MAGIC + salt + nonce + sealed).decode("ascii")


def _decrypt(inv: Invocation, args: Any) -> str:
    ciphertext, password = args
    try:
        raw = base64.b64decode(ciphertext.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise Failed("aesDecrypt: not a ciphertext") from None
    if len(raw) < 3 + 16 + 12 + 16 or not raw.startswith(MAGIC):
        raise Failed("aesDecrypt: not a ciphertext")
    salt, nonce, sealed = raw[3:19], raw[19:31], raw[31:]
    try:
        plain = AESGCM(_key(password, salt)).decrypt(nonce, sealed, MAGIC)
    except InvalidTag:
        raise Failed("aesDecrypt: wrong password or damaged ciphertext") from None
    return plain.decode("utf-8", "surrogatepass")


BIND = Bind(
    name="security",
    js=JS,
    handlers={"sec.hash": _hash, "sec.verify": _verify, "sec.enc": _encrypt, "sec.dec": _decrypt},
    k_members=("sec",),
    dts="""
  readonly sec: {
    /** Salted bcrypt hash (different on every call). */
    passwordHash(password: string): string;
    /** True when `password` matches a hash from passwordHash. */
    passwordVerify(password: string, hash: string): boolean;
    /** Authenticated encryption (AES-256-GCM) with a key derived from `password`; base64 text. */
    aesEncrypt(plaintext: string, password: string): string;
    /** Decrypt aesEncrypt output; a failure value on a wrong password or damaged input. */
    aesDecrypt(ciphertext: string, password: string): string | KFailure;
  };
""",
)
