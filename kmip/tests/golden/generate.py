#!/usr/bin/env python3
"""Golden KMIP byte vectors from an independent encoder, PyKMIP.

Writes kmip/tests/golden/<version>/<operation>.hex: one request message per operation,
encoded by PyKMIP for KMIP 1.2, 1.4 and 2.0. The hyok-kmip tests decode them, check the
tag and enumeration names against the registry and re-encode them to the same bytes.

Usage: python3 -m pip install -r kmip/tests/golden/requirements.txt
       python3 kmip/tests/golden/generate.py
"""

import datetime
import os

from kmip.core import enums, misc, objects, primitives, secrets, utils
from kmip.core import attributes as attrs
from kmip.core.factories import attributes as attribute_factory
from kmip.core.messages import contents, messages, payloads

HERE = os.path.dirname(os.path.abspath(__file__))
VERSIONS = {
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}
KEY = bytes(range(16))
IV = bytes(range(100, 116))
factory = attribute_factory.AttributeFactory()


def template():
    return objects.TemplateAttribute(attributes=[
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                 enums.CryptographicAlgorithm.AES),
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 128),
        factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK,
                                 [enums.CryptographicUsageMask.ENCRYPT,
                                  enums.CryptographicUsageMask.DECRYPT]),
        factory.create_attribute(enums.AttributeType.NAME, "golden-key"),
    ])


def symmetric_key():
    return secrets.SymmetricKey(key_block=objects.KeyBlock(
        key_format_type=misc.KeyFormatType(enums.KeyFormatType.RAW),
        key_value=objects.KeyValue(key_material=objects.KeyMaterial(KEY)),
        cryptographic_algorithm=attrs.CryptographicAlgorithm(enums.CryptographicAlgorithm.AES),
        cryptographic_length=attrs.CryptographicLength(128),
    ))


def parameters():
    return attrs.CryptographicParameters(
        block_cipher_mode=enums.BlockCipherMode.CBC,
        padding_method=enums.PaddingMethod.PKCS5,
        cryptographic_algorithm=enums.CryptographicAlgorithm.AES,
    )


def uid():
    return attrs.UniqueIdentifier("golden-uid-1")


def requests(version):
    when = int(datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc).timestamp())
    return {
        "DiscoverVersions": (enums.Operation.DISCOVER_VERSIONS, payloads.DiscoverVersionsRequestPayload(
            protocol_versions=[contents.ProtocolVersion(1, 2), contents.ProtocolVersion(1, 1)])),
        "Query": (enums.Operation.QUERY, payloads.QueryRequestPayload(query_functions=[
            enums.QueryFunction.QUERY_OPERATIONS, enums.QueryFunction.QUERY_OBJECTS])),
        "Create": (enums.Operation.CREATE, payloads.CreateRequestPayload(
            object_type=enums.ObjectType.SYMMETRIC_KEY, template_attribute=template())),
        "Register": (enums.Operation.REGISTER, payloads.RegisterRequestPayload(
            object_type=enums.ObjectType.SYMMETRIC_KEY, template_attribute=template(),
            managed_object=symmetric_key())),
        "Get": (enums.Operation.GET, payloads.GetRequestPayload(
            unique_identifier="golden-uid-1", key_format_type=enums.KeyFormatType.RAW)),
        "GetAttributes": (enums.Operation.GET_ATTRIBUTES, payloads.GetAttributesRequestPayload(
            unique_identifier="golden-uid-1", attribute_names=["State", "Cryptographic Algorithm"])),
        "Locate": (enums.Operation.LOCATE, payloads.LocateRequestPayload(
            maximum_items=10,
            offset_items=2 if version != "1.2" else None,  # Offset Items is new in 1.3
            attributes=[factory.create_attribute(enums.AttributeType.NAME, "golden-key"),
                        factory.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE)])),
        "Activate": (enums.Operation.ACTIVATE, payloads.ActivateRequestPayload(unique_identifier=uid())),
        "Revoke": (enums.Operation.REVOKE, payloads.RevokeRequestPayload(
            unique_identifier=uid(),
            revocation_reason=objects.RevocationReason(code=enums.RevocationReasonCode.KEY_COMPROMISE),
            compromise_occurrence_date=primitives.DateTime(
                when, tag=enums.Tags.COMPROMISE_OCCURRENCE_DATE))),
        "Destroy": (enums.Operation.DESTROY, payloads.DestroyRequestPayload(unique_identifier=uid())),
        "Encrypt": (enums.Operation.ENCRYPT, payloads.EncryptRequestPayload(
            unique_identifier="golden-uid-1", cryptographic_parameters=parameters(),
            data=b"golden plaintext", iv_counter_nonce=IV)),
        "Decrypt": (enums.Operation.DECRYPT, payloads.DecryptRequestPayload(
            unique_identifier="golden-uid-1", cryptographic_parameters=parameters(),
            data=bytes(range(32)), iv_counter_nonce=IV)),
    }


def encode(version, operation, payload):
    major, minor = (int(p) for p in version.split("."))
    message = messages.RequestMessage(
        request_header=messages.RequestHeader(
            protocol_version=contents.ProtocolVersion(major, minor),
            batch_count=contents.BatchCount(1)),
        batch_items=[messages.RequestBatchItem(
            operation=contents.Operation(operation), request_payload=payload)])
    stream = utils.BytearrayStream()
    message.write(stream, kmip_version=VERSIONS[version])
    return bytes(stream.buffer)


def main():
    count = 0
    for version in VERSIONS:
        directory = os.path.join(HERE, version)
        os.makedirs(directory, exist_ok=True)
        for name, (operation, payload) in requests(version).items():
            with open(os.path.join(directory, f"{name}.hex"), "w") as f:
                f.write(encode(version, operation, payload).hex() + "\n")
            count += 1
    print(f"{count} vectors written under {os.path.relpath(HERE)}")


if __name__ == "__main__":
    main()
