#!/usr/bin/env python3
"""Generate kmip/src/registry/tables.rs from the OASIS KMIP specifications.

Reads the tag and enumeration tables of the KMIP 1.4 and 2.1 specifications (HTML as
published by OASIS) and writes one Rust table of tags, enumerations and masks, each entry
with the range of versions it exists in:

- an entry of the 1.4 tables exists from the version PyKMIP's `kmip/core/enums.py`
  annotates it with ("# KMIP 1.2" ...), or from 1.4 when PyKMIP does not know it;
- an entry only in the 2.1 tables exists from 2.0 when PyKMIP annotates it "KMIP 2.0" or
  when it renames a 1.4 value (2.0 was the restructuring release), from 2.1 otherwise;
- an entry of the 1.4 tables that 2.1 no longer defines (or marks "(Reserved)") ends at 1.4.

Names are normalized to CamelCase as the KMIP Additional Message Encodings specification
(section 4.1.3) prescribes; that is the form the XML and JSON encodings use.

Usage: python3 kmip/registry/generate.py [SPEC_DIR]   (default: ../shared/kmip-spec)
PyKMIP is fetched from PyPI with `pip download` (version pinned below) into a temporary
directory; only its version annotations are used, as a cross-check of facts.
"""

import html.parser
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

PYKMIP = "pykmip==0.11.0"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "registry", "tables.rs")
ENUMS_OUT = os.path.join(HERE, "..", "src", "registry", "enums.rs")

# Tags of Enumeration type whose values come from an enumeration of another name.
# (Facts of the specifications: e.g. 2.1 section 7.x "Mask Generator Hashing Algorithm"
# is a Hashing Algorithm; "Attribute Reference" names a tag.)
TAG_ENUMERATION_ALIASES = {
    "MaskGeneratorHashingAlgorithm": "HashingAlgorithm",
    "AttributeReference": "Tag",
    "CertificateRequestType": "CertificateRequestType",
    "DigitalSignatureAlgorithm": "DigitalSignatureAlgorithm",
    "RevocationReasonCode": "RevocationReasonCode",
    "KeyWrapType": "KeyWrapType",
    "RotateNameType": "NameType",
    "ObjectGroupMember": "ObjectGroupMember",
    "PSource": None,
}
# KMIP 2.x defines these two enumerations by reference to PKCS#11 (v2.40, pkcs11.h):
# a function is its 1-based offset in CK_FUNCTION_LIST, a return code its CKR_ value.
PKCS11_FUNCTIONS = """C_Initialize C_Finalize C_GetInfo C_GetFunctionList C_GetSlotList C_GetSlotInfo
C_GetTokenInfo C_GetMechanismList C_GetMechanismInfo C_InitToken C_InitPIN C_SetPIN C_OpenSession
C_CloseSession C_CloseAllSessions C_GetSessionInfo C_GetOperationState C_SetOperationState C_Login
C_Logout C_CreateObject C_CopyObject C_DestroyObject C_GetObjectSize C_GetAttributeValue
C_SetAttributeValue C_FindObjectsInit C_FindObjects C_FindObjectsFinal C_EncryptInit C_Encrypt
C_EncryptUpdate C_EncryptFinal C_DecryptInit C_Decrypt C_DecryptUpdate C_DecryptFinal C_DigestInit
C_Digest C_DigestUpdate C_DigestKey C_DigestFinal C_SignInit C_Sign C_SignUpdate C_SignFinal
C_SignRecoverInit C_SignRecover C_VerifyInit C_Verify C_VerifyUpdate C_VerifyFinal
C_VerifyRecoverInit C_VerifyRecover C_DigestEncryptUpdate C_DecryptDigestUpdate C_SignEncryptUpdate
C_DecryptVerifyUpdate C_GenerateKey C_GenerateKeyPair C_WrapKey C_UnwrapKey C_DeriveKey
C_SeedRandom C_GenerateRandom C_GetFunctionStatus C_CancelFunction C_WaitForSlotEvent""".split()
PKCS11_RETURN_CODES = [("OK", 0x0), ("CANCEL", 0x1), ("HOST_MEMORY", 0x2), ("SLOT_ID_INVALID", 0x3),
                       ("GENERAL_ERROR", 0x5), ("FUNCTION_FAILED", 0x6), ("ARGUMENTS_BAD", 0x7),
                       ("FUNCTION_NOT_SUPPORTED", 0x54)]
# Typographical errors in a specification's tables, corrected: the 2.1 Mask Generator
# table says "MFG1" where 1.4 and the 2.1 test cases say MGF1.
ERRATA = {("MaskGenerator", "MFG1"): "MGF1"}
MASKS = {"CryptographicUsageMask", "StorageStatusMask", "ProtectionStorageMask"}


def normalize(name):
    """CamelCase per KMIP Additional Message Encodings 1.0, section 4.1.3."""
    name = name.replace("\xa0", " ").strip()
    no_brackets = re.sub(r"[()]", " ", name)
    non_word_to_space = re.sub(r"\W([A-Za-z][a-z])", r" \1", no_brackets)
    words = [re.sub(r"\W", "_", s) for s in non_word_to_space.split()]
    words[0] = re.sub(r"^(\d+)(.*)", r"\2\1", words[0])
    words = [w[0].upper() + w[1:] for w in words]
    return "".join(words)


class Tables(html.parser.HTMLParser):
    """Every top-level table of a document with the heading it sits under."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.heading = None
        self.heading_text = None
        self.tables = []
        self.depth = 0
        self.row = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3", "h4", "h5"):
            self.heading_text = ""
        elif tag == "table":
            self.depth += 1
            if self.depth == 1:
                self.tables.append((self.heading, []))
        elif tag == "tr" and self.depth == 1:
            self.row = []
        elif tag in ("td", "th") and self.depth == 1:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4", "h5") and self.heading_text is not None:
            self.heading = re.sub(r"\s+", " ", self.heading_text).strip()
            self.heading_text = None
        elif tag == "table":
            self.depth -= 1
        elif tag == "tr" and self.depth == 1 and self.row is not None:
            self.tables[-1][1].append(self.row)
            self.row = None
        elif tag in ("td", "th") and self.depth == 1 and self.cell is not None:
            if self.row is not None:
                self.row.append(re.sub(r"\s+", " ", self.cell.replace("\xa0", " ")).strip())
            self.cell = None

    def handle_data(self, data):
        if self.heading_text is not None:
            self.heading_text += data
        if self.cell is not None:
            self.cell += data


def spec_tables(path):
    parser = Tables()
    with open(path, encoding="cp1252", errors="replace") as f:
        parser.feed(f.read())
    return parser.tables


# Header rows of the value tables: enumerations and masks, and the 1.4 tag table.
HEADERS = (["Name", "Value"], ["Object", "Tag Value"])
HEX = re.compile(r"^(?:0x)?([0-9A-Fa-f]{6,8})(?![0-9A-Za-z])")  # "00000006 (deprecated)"


def name_value_rows(rows):
    """The (name, value) rows of a Name/Value table; ranges and placeholders skipped."""
    out = []
    started = False
    for row in rows:
        if row[:2] in HEADERS:
            started = True
            continue
        if not started or len(row) < 2:
            continue
        name, value = row[0].strip(" *\ufffd"), row[1].replace(" ", "")
        match = HEX.match(value)
        ranged = re.search(r"[0-9A-Fa-f]{6}\W+[0-9A-Fa-f]{6}", row[1])  # "540000 - 54FFFF"
        if not match or ranged or not name or name.startswith("(") or name == "Extensions":
            continue
        out.append((name, int(match.group(1), 16)))
    return out


def read_spec(path):
    """{"Tag": [(name, value)], "<Enumeration>": [(name, value)], ...} from one spec."""
    enums = {}
    for heading, rows in spec_tables(path):
        if not heading or not any(r[:2] in HEADERS for r in rows[:3]):
            continue
        title = re.sub(r"^[\d.]+\s*", "", heading).replace("\ufffd", "").strip()
        title = re.sub(r"\s+Enumeration$", "", title)
        if title == "Tags":
            title = "Tag"
        entries = name_value_rows(rows)
        if entries:
            enums.setdefault(normalize(title), []).extend(entries)
    return enums


def multi_valued(path):
    """The attributes whose rules table says "Multiple instances permitted: Yes"."""
    names = set()
    for heading, rows in spec_tables(path):
        for row in rows:
            if len(row) >= 2 and row[0].startswith("Multiple instances permitted") and row[1].startswith("Yes"):
                names.add(normalize(re.sub(r"^[\d.]+\s*", "", heading or "").replace("\ufffd", "").strip()))
    return sorted(n for n in names if n)


def pykmip_versions():
    """{("Tags"|enum class, value): "1.2"} from PyKMIP's annotated enums.py."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             "-d", tmp, PYKMIP],
            check=True,
        )
        archive = next(os.path.join(tmp, f) for f in os.listdir(tmp))
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("kmip/core/enums.py"))
            source = tar.extractfile(member).read().decode()
    versions = {}
    klass = version = None
    for line in source.splitlines():
        m = re.match(r"^class (\w+)\(", line)
        if m:
            klass, version = m.group(1), None
            continue
        m = re.match(r"^\s+# KMIP (\d\.\d)", line)
        if m:
            version = m.group(1)
            continue
        m = re.match(r"^\s+\w+\s*=\s*(0x[0-9A-Fa-f]+|\d+)", line)
        if m and klass and version:
            versions[(klass.lower(), int(m.group(1), 0))] = version
    return versions


def screaming_snake(name):
    """IVCounterNonce -> IV_COUNTER_NONCE; PKCS_11Function -> PKCS_11_FUNCTION."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"_+", "_", name).upper()


def rust_version(v):
    return "V" + v.replace(".", "_")


def main():
    spec_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "kmip-spec")
    v14 = read_spec(os.path.join(spec_dir, "kmip-spec-v1.4-os.html"))
    v21 = read_spec(os.path.join(spec_dir, "kmip-spec-v2.1-os.html"))
    pykmip = pykmip_versions()
    v21["PKCS_11Function"] = [(f, i + 1) for i, f in enumerate(PKCS11_FUNCTIONS)]
    v21["PKCS_11ReturnCode"] = PKCS11_RETURN_CODES

    def entries(kind):
        def names(spec):
            return {(ERRATA.get((kind, normalize(n)), normalize(n)), v) for n, v in spec.get(kind, [])}
        old, new = names(v14), names(v21)
        old_values = {v for _, v in old}
        py_kind = "tags" if kind == "Tag" else kind.lower()
        out = []
        for name, value in sorted(old | new, key=lambda e: (e[1], e[0])):
            known = pykmip.get((py_kind, value))
            if (name, value) in old:
                since = known if known and known < "2.0" else "1.4"
                until = None if (name, value) in new else "1.4"
            else:
                # New in 2.x: PyKMIP knows 2.0; a value renamed from 1.4 is taken as renamed
                # by 2.0, the restructuring release; otherwise 2.1.
                renamed = value in old_values
                since = "2.0" if known == "2.0" or renamed else "2.1"
                until = None
            out.append((name, value, since, until))
        return out

    tags = entries("Tag")
    enumerations = {}
    for kind in sorted(set(v14) | set(v21)):
        if kind == "Tag":
            continue
        enumerations[kind] = entries(kind)
    tag_names = {name for name, _, _, _ in tags}
    tag_enumeration = []
    for tag in sorted(tag_names):
        if tag in TAG_ENUMERATION_ALIASES:
            target = TAG_ENUMERATION_ALIASES[tag]
        elif tag in enumerations:
            target = tag
        else:
            target = None
        if target:
            tag_enumeration.append((tag, target))

    lines = [
        "// @generated by kmip/registry/generate.py from the OASIS KMIP 1.4 and 2.1",
        "// specifications, with PyKMIP's version annotations; do not edit by hand.",
        "",
        "use super::{Entry, Enumeration, Version::*};",
        "",
        "pub(super) static TAGS: &[Entry] = &[",
    ]

    def entry(name, value, since, until):
        until = f"Some({rust_version(until)})" if until else "None"
        return f"    Entry {{ name: {name!r}, value: 0x{value:08x}, since: {rust_version(since)}, until: {until} }},".replace("'", '"')

    for name, value, since, until in tags:
        lines.append(entry(name, value, since, until))
    lines.append("];")
    lines.append("")
    lines.append("pub(super) static ENUMERATIONS: &[Enumeration] = &[")
    for kind, values in enumerations.items():
        lines.append(f'    Enumeration {{ name: "{kind}", mask: {str(kind in MASKS).lower()}, values: &[')
        for name, value, since, until in values:
            lines.append("    " + entry(name, value, since, until))
        lines.append("    ] },")
    lines.append("];")
    lines.append("")
    lines.append("/// Tags of Enumeration (or mask) type and the enumeration their values come from.")
    lines.append("pub(super) static TAG_ENUMERATIONS: &[(&str, &str)] = &[")
    for tag, target in tag_enumeration:
        lines.append(f'    ("{tag}", "{target}"),')
    lines.append("];")
    lines.append("")
    lines.append("/// Attributes an object may carry several instances of (KMIP 2.1 section 4, \"Multiple")
    lines.append("/// instances permitted\").")
    lines.append("pub(super) static MULTI_VALUED: &[&str] = &[")
    for name in multi_valued(os.path.join(spec_dir, "kmip-spec-v2.1-os.html")):
        lines.append(f'    "{name}",')
    lines.append("];")
    lines.append("")
    lines.append("/// Tags as the specification writes them (the 1.x attribute names), by CamelCase name.")
    lines.append("pub(super) static TAG_TEXTS: &[(&str, &str)] = &[")
    texts = {}
    for spec in (v14, v21):  # 2.1's wording wins
        for text, _ in spec.get("Tag", []):
            texts[normalize(text)] = text.replace("\ufffd", "-")
    for name in sorted(tag_names):
        lines.append(f"    ({json.dumps(name)}, {json.dumps(texts[name], ensure_ascii=False)}),")
    lines.append("];")
    lines.append("")
    lines.append("/// Tag numbers by name, for code that builds or reads messages.")
    lines.append("pub mod tag {")
    seen = set()
    for name, value, since, until in tags:
        constant = screaming_snake(name)
        if constant in seen:
            continue
        seen.add(constant)
        lines.append(f"    pub const {constant}: u32 = 0x{value:06x};")
    lines.append("}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["rustfmt", "--edition", "2021", OUT], check=True)
    write_enums(enumerations)
    import payloads  # noqa: E402 (it imports this module)

    operations = payloads.write(spec_dir)
    print(f"{operations} payloads -> {os.path.relpath(payloads.OUT)}")
    print(f"{len(tags)} tags, {len(enumerations)} enumerations, "
          f"{sum(len(v) for v in enumerations.values())} values -> {os.path.relpath(OUT)}")


def write_enums(enumerations):
    """One Rust enum per enumeration and mask (the `enumeration!` macro of registry/mod.rs
    writes their methods). Where two names share a value (a 1.x name that 2.x renamed),
    the name still defined in 2.1 comes first, so that a value read from the wire maps to
    it."""
    lines = [
        "// @generated by kmip/registry/generate.py from the OASIS KMIP 1.4 and 2.1",
        "// specifications; do not edit by hand.",
        "",
        "//! Every KMIP enumeration and mask as a Rust enum, for code that decides on a value:",
        "//! `ObjectType::SymmetricKey.value()`, `State::from_name(text)`,",
        "//! `CryptographicUsageMask::Encrypt.value()` (a mask's values are its bits).",
        "",
        "#![allow(non_camel_case_types)]",
        "",
    ]
    for kind, values in enumerations.items():
        ordered = sorted(values, key=lambda v: (v[1], v[3] is not None))
        seen = set()
        lines.append(f"enumeration! {{ {kind} {{")
        for name, value, _, _ in ordered:
            if name in seen:
                continue
            seen.add(name)
            lines.append(f"    {name} = 0x{value:08x},")
        lines.append("} }")
        lines.append("")
    lines.append("/// The names and values of one enum.")
    lines.append("#[cfg(test)]")
    lines.append("pub(super) type NamesAndValues = fn() -> Vec<(&'static str, u32)>;")
    lines.append("")
    lines.append("/// Every enum above by its registry name, for the test that checks them against it.")
    lines.append("#[cfg(test)]")
    lines.append("pub(super) const ALL: &[(&str, NamesAndValues)] = &[")
    for kind in enumerations:
        lines.append(f'    ("{kind}", || {kind}::ALL.iter().map(|v| (v.name(), v.value())).collect()),')
    lines.append("];")
    lines.append("")
    with open(ENUMS_OUT, "w") as f:
        f.write("\n".join(lines))
    subprocess.run(["rustfmt", "--edition", "2021", ENUMS_OUT], check=True)


if __name__ == "__main__":
    main()
