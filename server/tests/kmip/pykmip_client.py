#!/usr/bin/env python3
"""Drives a KMIP server with PyKMIP's ProxyKmipClient (an independent KMIP client) and
prints one JSON object of what it saw. Used by hyok's end-to-end tests.

Usage: pykmip_client.py HOST PORT CERT KEY CA VERSION   (VERSION: 1.2, 1.4 or 2.0)
"""

import json
import logging
import sys
import time

from kmip import enums
from kmip.pie import objects
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure

logging.disable(logging.CRITICAL)
host, port, cert, key, ca, version = sys.argv[1:7]
versions = {"1.2": enums.KMIPVersion.KMIP_1_2, "1.4": enums.KMIPVersion.KMIP_1_4,
            "2.0": enums.KMIPVersion.KMIP_2_0}
client = ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                         kmip_version=versions[version], config_file="/dev/null")
factory = client.attribute_factory
out = {}
cbc = {"cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
       "block_cipher_mode": enums.BlockCipherMode.CBC,
       "padding_method": enums.PaddingMethod.PKCS5}
usage = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]


def locate(*attributes):
    return sorted(client.locate(attributes=list(attributes)))


with client:
    before = int(time.time()) - 1
    name = f"pykmip-{version}-{time.time_ns()}"
    created = client.create(enums.CryptographicAlgorithm.AES, 256, name=name,
                            cryptographic_usage_mask=usage)
    registered = client.register(objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 128, bytes(range(16)), usage, name=name + "-registered"))
    after = int(time.time()) + 1
    out["created"], out["registered"] = created, registered
    out["get_registered"] = client.get(registered).value.hex()
    client.activate(created)
    uid, attributes = client.get_attributes(created, ["State", "Name", "Cryptographic Algorithm",
                                                      "Cryptographic Length"])
    out["attributes"] = {a.attribute_name.value: str(a.attribute_value) for a in attributes}
    out["attribute_list"] = sorted(client.get_attribute_list(created))
    out["locate_by_name"] = locate(factory.create_attribute(enums.AttributeType.NAME, name))
    out["locate_everything"] = {created, registered} <= set(client.locate())
    out["locate_by_state"] = created in locate(
        factory.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE))
    out["locate_active_aes_256"] = locate(
        factory.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE),
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                 enums.CryptographicAlgorithm.AES),
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256),
        factory.create_attribute(enums.AttributeType.NAME, name))
    out["locate_by_dates"] = sorted(set(locate(
        factory.create_attribute(enums.AttributeType.INITIAL_DATE, before),
        factory.create_attribute(enums.AttributeType.INITIAL_DATE, after))) & {created, registered})
    out["locate_in_the_past"] = locate(
        factory.create_attribute(enums.AttributeType.INITIAL_DATE, 0),
        factory.create_attribute(enums.AttributeType.INITIAL_DATE, before - 3600),
        factory.create_attribute(enums.AttributeType.NAME, name))
    ciphertext, _ = client.encrypt(b"attack at dawn", uid=created, cryptographic_parameters=cbc,
                                   iv_counter_nonce=b"0123456789abcdef")
    out["decrypted"] = client.decrypt(ciphertext, uid=created, cryptographic_parameters=cbc,
                                      iv_counter_nonce=b"0123456789abcdef").decode()
    rekeyed = client.rekey(uid=created)
    # (PyKMIP cannot read Link attributes; the test checks the links itself.)
    out["rekeyed"] = rekeyed
    client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, created)
    client.destroy(created)
    try:
        client.get(created)
        out["get_after_destroy"] = "succeeded"
    except KmipOperationFailure as failure:
        out["get_after_destroy"] = failure.reason.name
print(json.dumps(out))
