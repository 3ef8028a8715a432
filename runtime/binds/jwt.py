"""K.jwt: token parser (verifies signature and expiry) and builder, on PyJWT."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jwt as pyjwt

from runtime.binds import Bind, Failed, Misuse

if TYPE_CHECKING:
    from runtime.invocation import Invocation

ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
EXPECTATIONS = {"issuer": "iss", "subject": "sub", "audience": "aud", "id": "jti"}

JS = r"""
const Signature = {};
const ALGS = __ALGS__;
for (let i = 0; i < ALGS.length; i++) Signature[ALGS[i]] = ALGS[i];

class Token {
  constructor(claims, headers) { this.__claims = claims; this.__headers = headers; }
  getClaim(name, defaultValue) {
    return hasOwn(this.__claims, name) ? this.__claims[name] : (defaultValue === undefined ? null : defaultValue);
  }
  hasClaim(name) { return hasOwn(this.__claims, name); }
  getClaims() { return plain(this.__claims); }
  getHeader(name, defaultValue) {
    return hasOwn(this.__headers, name) ? this.__headers[name] : (defaultValue === undefined ? null : defaultValue);
  }
}
class Parser {
  constructor(alg, key) { this.__alg = StringCtor(alg); this.__key = StringCtor(key); }
  parseAndVerify(token, expectations) {
    const found = host('jwt.parse', { alg: this.__alg, key: this.__key, token: StringCtor(token),
                                     expect: expectations === undefined ? {} : plain(expectations) });
    if (isFailure(found)) return found;
    return new Token(found.claims, found.headers);
  }
}
class Builder {
  constructor(alg, key) { this.__alg = StringCtor(alg); this.__key = StringCtor(key); this.__claims = {}; }
  addClaim(name, value) { this.__claims[StringCtor(name)] = plain(value); return this; }
  set(name, value) { return this.addClaim(name, value); }
  withClaim(name, value) { return this.addClaim(name, value); }
  setIssuer(v) { return this.addClaim('iss', v); }
  setSubject(v) { return this.addClaim('sub', v); }
  setAudience(v) { return this.addClaim('aud', v); }
  setId(v) { return this.addClaim('jti', v); }
  setIssuedAt(t) { return this.addClaim('iat', NumberCtor(t)); }
  setNotBefore(t) { return this.addClaim('nbf', NumberCtor(t)); }
  setExpiry(t) { return this.addClaim('exp', NumberCtor(t)); }
  setExpiration(t) { return this.setExpiry(t); }
  getToken() { return host('jwt.build', { alg: this.__alg, key: this.__key, claims: this.__claims }); }
}
const jwtClasses = [Token, Parser, Builder];
for (let i = 0; i < jwtClasses.length; i++) { freeze(jwtClasses[i].prototype); freeze(jwtClasses[i]); }
K.jwt = {
  Signature: Signature,
  createParser: function createParser(signature, key) { return new Parser(signature, key); },
  createBuilder: function createBuilder(signature, key) { return new Builder(signature, key); },
};
""".replace("__ALGS__", repr(list(ALGORITHMS)))


def _algorithm(name: Any) -> str:
    if name not in ALGORITHMS:
        raise Misuse(f"unknown JWT signature: {name!r}")
    return str(name)


def _parse(inv: Invocation, request: Any) -> Any:
    alg = _algorithm(request.get("alg"))
    expect = request.get("expect") or {}
    if not isinstance(expect, Mapping):
        raise Misuse("parseAndVerify expectations must be an object")
    unknown = set(expect) - set(EXPECTATIONS)
    if unknown:
        raise Misuse(f"unknown JWT expectation(s): {', '.join(sorted(unknown))}")
    try:
        claims = pyjwt.decode(
            request["token"],
            request["key"],
            algorithms=[alg],
            audience=expect.get("audience"),
            issuer=expect.get("issuer"),
            options={"require": ["exp"], "verify_aud": "audience" in expect},
        )
        headers = pyjwt.get_unverified_header(request["token"])
    except pyjwt.PyJWTError as error:
        raise Failed(f"invalid token: {error}") from None
    for option in ("subject", "id"):
        if option in expect and claims.get(EXPECTATIONS[option]) != expect[option]:
            raise Failed(f"invalid token: {EXPECTATIONS[option]} does not match")
    return {"claims": claims, "headers": headers}


def _build(inv: Invocation, request: Any) -> str:
    alg = _algorithm(request.get("alg"))
    claims = request.get("claims")
    if not isinstance(claims, Mapping):
        raise Misuse("invalid JWT claims")
    try:
        return pyjwt.encode(dict(claims), request["key"], algorithm=alg)
    except (pyjwt.PyJWTError, ValueError, TypeError) as error:
        raise Failed(f"cannot sign token: {error}") from None


BIND = Bind(
    name="jwt",
    js=JS,
    handlers={"jwt.parse": _parse, "jwt.build": _build},
    k_members=("jwt",),
    dts="""
  readonly jwt: {
    readonly Signature: { readonly HS256: 'HS256'; readonly HS384: 'HS384'; readonly HS512: 'HS512'; readonly RS256: 'RS256'; readonly RS384: 'RS384'; readonly RS512: 'RS512'; readonly ES256: 'ES256'; readonly ES384: 'ES384'; readonly ES512: 'ES512' };
    /** A parser that checks the signature and always the expiry. */
    createParser(signature: string, secretOrKey: string): KJwtParser;
    /** A chainable token builder. */
    createBuilder(signature: string, secretOrKey: string): KJwtBuilder;
  };
""",
)

TYPES_DTS = """
interface KJwtToken {
  getClaim(name: string, defaultValue?: any): any;
  hasClaim(name: string): boolean;
  getClaims(): { [name: string]: any };
  getHeader(name: string, defaultValue?: any): any;
}
interface KJwtParser {
  parseAndVerify(token: string, expectations?: { issuer?: string; subject?: string; audience?: string; id?: string }): KJwtToken | KFailure;
}
interface KJwtBuilder {
  setIssuer(iss: string): KJwtBuilder;
  setSubject(sub: string): KJwtBuilder;
  setAudience(aud: string): KJwtBuilder;
  setId(jti: string): KJwtBuilder;
  setIssuedAt(unixSeconds: number): KJwtBuilder;
  setNotBefore(unixSeconds: number): KJwtBuilder;
  setExpiry(unixSeconds: number): KJwtBuilder;
  setExpiration(unixSeconds: number): KJwtBuilder;
  addClaim(name: string, value: any): KJwtBuilder;
  set(name: string, value: any): KJwtBuilder;
  withClaim(name: string, value: any): KJwtBuilder;
  getToken(): string | KFailure;
}
"""
