#!/usr/bin/env python3
"""Drives a KMIP server's key pairs, signatures, RSA encryption, MACs and key derivation
with PyKMIP's
ProxyKmipClient, and checks every output with Python's `cryptography` and `hmac` (peers
independent of the server). Prints one JSON object of what it saw.

Usage: pykmip_crypto.py HOST PORT CERT KEY CA
"""

import hashlib
import hmac
import json
import logging
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFHMAC, Mode
from kmip import enums
from kmip.pie import objects
from kmip.pie.client import ProxyKmipClient

logging.disable(logging.CRITICAL)
host, port, cert, key, ca = sys.argv[1:6]
client = ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                         kmip_version=enums.KMIPVersion.KMIP_2_0, config_file="/dev/null")
U = enums.CryptographicUsageMask
out = {}
message = b"the quick brown fox"


def verified(check):
    try:
        check()
        return True
    except InvalidSignature:
        return False


def pair(algorithm, length, private_mask, public_mask):
    public, private = client.create_key_pair(algorithm, length,
                                             public_usage_mask=public_mask,
                                             private_usage_mask=private_mask)
    client.activate(public)
    client.activate(private)
    return public, private


with client:
    # RSA-2048, PSS with SHA-256: signed by the server, verified by `cryptography`.
    public, private = pair(enums.CryptographicAlgorithm.RSA, 2048, [U.SIGN, U.DECRYPT],
                           [U.VERIFY, U.ENCRYPT])
    rsa_public = serialization.load_der_public_key(client.get(public).value)
    pss = {"padding_method": enums.PaddingMethod.PSS,
           "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
           "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA}
    signature = client.sign(message, uid=private, cryptographic_parameters=pss)
    out["rsa_pss_verified_outside"] = verified(lambda: rsa_public.verify(
        signature, message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256()))
    out["rsa_pss_verified_by_server"] = client.signature_verify(
        message, signature, uid=public, cryptographic_parameters=pss).name
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    out["tampered_verified_by_server"] = client.signature_verify(
        message, tampered, uid=public, cryptographic_parameters=pss).name
    pkcs1 = {"digital_signature_algorithm":
             enums.DigitalSignatureAlgorithm.SHA256_WITH_RSA_ENCRYPTION}
    signature = client.sign(message, uid=private, cryptographic_parameters=pkcs1)
    out["rsa_pkcs1_verified_outside"] = verified(lambda: rsa_public.verify(
        signature, message, padding.PKCS1v15(), hashes.SHA256()))

    # RSA-OAEP (SHA-256): the server's ciphertext decrypts outside it, and back.
    oaep_parameters = {"padding_method": enums.PaddingMethod.OAEP,
                       "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
                       "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA}
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                        label=None)
    ciphertext, _ = client.encrypt(b"wrapped secret", uid=public,
                                   cryptographic_parameters=oaep_parameters)
    rsa_private = serialization.load_der_private_key(client.get(private).value, None)
    out["oaep_decrypted_outside"] = rsa_private.decrypt(ciphertext, oaep).decode()
    out["oaep_decrypted_by_server"] = client.decrypt(
        rsa_public.encrypt(b"from outside", oaep), uid=private,
        cryptographic_parameters=oaep_parameters).decode()

    # ECDSA P-256 with SHA-256.
    public, private = pair(enums.CryptographicAlgorithm.ECDSA, 256, [U.SIGN], [U.VERIFY])
    ec_public = serialization.load_der_public_key(client.get(public).value)
    ecdsa = {"digital_signature_algorithm":
             enums.DigitalSignatureAlgorithm.ECDSA_WITH_SHA256}
    signature = client.sign(message, uid=private, cryptographic_parameters=ecdsa)
    out["ecdsa_verified_outside"] = verified(
        lambda: ec_public.verify(signature, message, ec.ECDSA(hashes.SHA256())))

    # Ed25519.
    public, private = pair(enums.CryptographicAlgorithm.ED25519, 256, [U.SIGN], [U.VERIFY])
    ed_public = serialization.load_der_public_key(client.get(public).value)
    signature = client.sign(message, uid=private)
    out["ed25519_verified_outside"] = verified(lambda: ed_public.verify(signature, message))
    out["ed25519_verified_by_server"] = client.signature_verify(
        message, signature, uid=public).name

    # HMAC-SHA-256 on a registered key: the server's MAC equals Python's.
    mac_key = bytes(range(32))
    uid = client.register(objects.SymmetricKey(
        enums.CryptographicAlgorithm.HMAC_SHA256, 256, mac_key, [U.MAC_GENERATE],
        name="pykmip-crypto-mac"))
    client.activate(uid)
    _, mac = client.mac(message, uid=uid, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256)
    out["hmac_equal"] = hmac.compare_digest(
        mac, hmac.new(mac_key, message, hashlib.sha256).digest())

    # Derive Key from a registered AES key: PBKDF2, HMAC (HKDF) and SP 800-108 counter
    # mode, each derived key fetched and compared with Python's own derivation.
    base_key = bytes(range(100, 132))
    base = client.register(objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 256, base_key, [U.DERIVE_KEY],
        name="pykmip-crypto-base"))
    client.activate(base)
    sha256 = {"hashing_algorithm": enums.HashingAlgorithm.SHA_256}

    def derived(method, parameters):
        uid = client.derive_key(enums.ObjectType.SYMMETRIC_KEY, [base], method, parameters,
                                cryptographic_length=128,
                                cryptographic_algorithm=enums.CryptographicAlgorithm.AES)
        return client.get(uid).value

    out["pbkdf2_equal"] = derived(enums.DerivationMethod.PBKDF2, {
        "cryptographic_parameters": sha256, "salt": b"NaCl", "iteration_count": 1000,
    }) == hashlib.pbkdf2_hmac("sha256", base_key, b"NaCl", 1000, 16)
    out["hkdf_equal"] = derived(enums.DerivationMethod.HMAC, {
        "cryptographic_parameters": sha256, "salt": b"salt", "derivation_data": b"info",
    }) == HKDF(hashes.SHA256(), 16, b"salt", b"info").derive(base_key)
    out["sp800_108_equal"] = derived(enums.DerivationMethod.NIST800_108_C, {
        "cryptographic_parameters": sha256, "derivation_data": b"fixed input",
    }) == KBKDFHMAC(hashes.SHA256(), Mode.CounterMode, 16, 4, None,
                    CounterLocation.BeforeFixed, None, None, b"fixed input").derive(base_key)

print(json.dumps(out))
