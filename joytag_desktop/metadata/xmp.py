"""XMP sidecars: finding them, reading their keyword properties, writing merged ones back.

Parsing uses defusedxml, so a sidecar with a DTD, entities or external references is refused.
Writes are atomic (temporary file, fsync, rename), keep the file's encoding (UTF-8 or UTF-16, as
Lightroom 4 wrote) and mode, and the result is parsed again before it replaces anything. What to
write is decided in ``keywords`` (ownership); this module only moves properties in and out.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from joytag_desktop import files
from joytag_desktop.errors import JoyTagError
from joytag_desktop.files import FileTooLargeError
from joytag_desktop.media.imaging import is_image_path, is_raw_path
from joytag_desktop.metadata.acdsee import categories_xml, empty_branches, parse_categories
from joytag_desktop.metadata.keywords import DEFAULT_PARENT, Properties, clean, empty_properties
from joytag_desktop.metadata.marks import DT_COLORS, MARKS, XMP_FIELDS, from_entries, to_entries

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "darktable": "http://darktable.sf.net/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    "MicrosoftPhoto": "http://ns.microsoft.com/photo/1.0/",
    "mediapro": "http://ns.iview-multimedia.com/mediapro/1.0/",
    "acdsee": "http://ns.acdsee.com/iptc/1.0/",
}
# Other URIs programs write for the same namespace: exiftool writes Microsoft's without the final
# slash that Windows Photo Gallery uses. Read under any of them; rewritten under the file's own.
NS_ALIASES = {"MicrosoftPhoto": ("http://ns.microsoft.com/photo/1.0",)}
# Property name in ``keywords`` -> (namespace prefix, XMP name, container).
XMP_PROPERTIES = {
    "subject": ("dc", "subject", "Bag"),
    "hierarchical": ("lr", "hierarchicalSubject", "Bag"),
    "tags_list": ("digiKam", "TagsList", "Seq"),
    "last_keyword": ("MicrosoftPhoto", "LastKeywordXMP", "Bag"),  # Windows Photo Gallery, digiKam
    "catalog_sets": ("mediapro", "CatalogSets", "Bag"),  # Expression Media, digiKam
    "acdsee": ("acdsee", "categories", "Text"),  # one text holding ACDSee's XML tree (see ``acdsee``)
}
XPACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
XPACKET_END = '\n<?xpacket end="w"?>\n'
MAX_DEPTH = 100  # real sidecars (darktable's history included) are about a dozen levels deep
MAX_KEYWORDS = 20_000  # per property; digiKam's largest real-world tag trees have a few thousand
MAX_SIDECAR_BYTES = 16 * 1024 * 1024  # real sidecars are kilobytes; darktable's with long histories < 1 MB
_RDF = f"{{{NS['rdf']}}}"
__all__ = ["DEFAULT_PARENT"]


class SidecarError(JoyTagError):
    """A sidecar that cannot be read (malformed, hostile) or written (permissions)."""


def _register_namespaces(text: str) -> None:
    """Keep the file's own prefixes when serialising (ElementTree would invent ns0, ns1…)."""
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    for prefix, uri in re.findall(r'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']([^"\']+)["\']', text):
        with contextlib.suppress(ValueError):  # reserved prefixes such as "xml"
            ET.register_namespace(prefix, uri)


def parse_packet(data: bytes | str, source: str = "XMP") -> ET.Element:
    """Parse an XMP packet safely. Raises SidecarError with the reason."""
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise SidecarError(f"{source}: refused unsafe XML ({type(exc).__name__}: {exc})") from None
    except ET.ParseError as exc:
        raise SidecarError(f"{source}: malformed XML ({exc})") from None
    if root.find(f".//{_RDF}RDF") is None and root.tag != f"{_RDF}RDF":
        raise SidecarError(f"{source}: not an XMP packet (no rdf:RDF)")
    if _depth(root) > MAX_DEPTH:
        # Writing it back (indenting, serialising) recurses per level: refuse it whole instead.
        raise SidecarError(f"{source}: XML nested too deep (over {MAX_DEPTH} levels); left unchanged")
    return root


def _depth(root: ET.Element) -> int:
    """How deep the tree goes, measured without recursion (stopping once past the limit)."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in element)
    return deepest


def _tags(prefix: str, name: str) -> list[str]:
    """The property's qualified names under its namespace URI and that URI's aliases."""
    return [f"{{{uri}}}{name}" for uri in (NS[prefix], *NS_ALIASES.get(prefix, ()))]


def _items(root: ET.Element, prefix: str, name: str) -> list[str]:
    values: list[str] = []
    for tag in _tags(prefix, name):
        for element in root.iter(tag):
            values += [li.text or "" for li in element.iter(f"{_RDF}li")]
        for description in root.iter(f"{_RDF}Description"):  # a single value written as an attribute
            if tag in description.attrib:
                values.append(description.attrib[tag])
    return list(dict.fromkeys(v for v in (clean(x) for x in values) if v))


def _text(root: ET.Element, prefix: str, name: str) -> str:
    """A simple text property, written as an element or as an attribute."""
    for tag in _tags(prefix, name):
        for element in root.iter(tag):
            return element.text or ""
        for description in root.iter(f"{_RDF}Description"):
            if tag in description.attrib:
                return description.attrib[tag]
    return ""


def properties_of(root: ET.Element, source: str = "XMP") -> Properties:
    found = empty_properties()
    for prop, (prefix, name, container) in XMP_PROPERTIES.items():
        if container == "Text":
            found[prop] = parse_categories(_text(root, prefix, name))
        else:
            found[prop] = _items(root, prefix, name)
        if len(found[prop]) > MAX_KEYWORDS:
            raise SidecarError(
                f"{source}: {len(found[prop]):,} keywords in {prefix}:{name}; the limit is {MAX_KEYWORDS:,}, not read"
            )
    found[MARKS] = to_entries(marks_of(root))
    return found


def marks_of(root: ET.Element) -> dict[str, str]:
    """The star, label and pick fields of a packet (``metadata.marks``), as written."""
    raw: dict[str, str] = {}
    for field in XMP_FIELDS:
        prefix, name = field.split(":")
        if field == DT_COLORS:
            values = [
                li.text or "" for tag in _tags(prefix, name) for e in root.iter(tag) for li in e.iter(f"{_RDF}li")
            ]
            if any(
                tag in d.attrib or d.find(tag) is not None
                for tag in _tags(prefix, name)
                for d in root.iter(f"{_RDF}Description")
            ):
                raw[field] = ",".join(v.strip() for v in values)
            continue
        for tag in _tags(prefix, name):
            for description in root.iter(f"{_RDF}Description"):
                if tag in description.attrib:
                    raw.setdefault(field, description.attrib[tag].strip())
                element = description.find(tag)
                if element is not None:
                    raw.setdefault(field, (element.text or "").strip())
    return raw


def _set_marks(root: ET.Element, changes: dict[str, str | None]) -> None:
    """Write changed mark fields (None: remove), as attributes as Lightroom and digiKam do; darktable's
    label list as its rdf:Seq. Under the namespace URI the file used."""
    for field, text in changes.items():
        prefix, name = field.split(":")
        tag = None
        for candidate in _tags(prefix, name):
            for description in root.iter(f"{_RDF}Description"):
                if candidate in description.attrib or description.find(candidate) is not None:
                    tag = tag or candidate
                description.attrib.pop(candidate, None)
                for element in description.findall(candidate):
                    description.remove(element)
        if text is None:
            continue
        tag = tag or f"{{{NS[prefix]}}}{name}"
        if field == DT_COLORS:
            seq = ET.SubElement(ET.SubElement(_description(root), tag), f"{_RDF}Seq")
            for part in text.split(","):
                if part:
                    ET.SubElement(seq, f"{_RDF}li").text = part
        else:
            _description(root).set(tag, text)


def read_packet_properties(data: bytes | str, source: str = "XMP") -> Properties:
    """The keyword properties of an XMP packet (sidecar or embedded). Raises SidecarError."""
    return properties_of(parse_packet(data, source), source)


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """A regular file's bytes, refusing FIFOs, devices and anything over ``limit``. Raises SidecarError."""
    try:
        return files.read_limited(path, limit, what)
    except FileTooLargeError as exc:
        raise SidecarError(str(exc)) from None
    except OSError as exc:
        raise SidecarError(f"{path}: {exc.strerror or exc}") from None


def read_sidecar(path: Path) -> Properties:
    return read_packet_properties(read_limited(path, MAX_SIDECAR_BYTES, "sidecar"), str(path))


def text_encoding(data: bytes) -> str:
    """The encoding of an XMP file from its first bytes (XMP allows UTF-8, UTF-16 and UTF-32)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if data[:2] == b"<\x00":
        return "utf-16-le"
    if data[:2] == b"\x00<":
        return "utf-16-be"
    return "utf-8"


def _description(root: ET.Element) -> ET.Element:
    rdf = root if root.tag == f"{_RDF}RDF" else root.find(f".//{_RDF}RDF")
    assert rdf is not None
    description = rdf.find(f"{_RDF}Description")
    if description is None:
        description = ET.SubElement(rdf, f"{_RDF}Description", {f"{_RDF}about": ""})
    return description


def _set_list(root: ET.Element, prefix: str, name: str, container: str, values: list[str]) -> None:
    """Replace property ``prefix:name`` (wherever it is, under whichever URI alias) with an
    rdf:Bag/Seq of ``values``, written under the URI the file used."""
    tag = None
    previous = _text(root, prefix, name) if container == "Text" else ""
    for candidate in _tags(prefix, name):
        for description in root.iter(f"{_RDF}Description"):
            if candidate in description.attrib or description.find(candidate) is not None:
                tag = tag or candidate
            description.attrib.pop(candidate, None)
            for element in description.findall(candidate):
                description.remove(element)
    tag = tag or f"{{{NS[prefix]}}}{name}"
    if not values and not (container == "Text" and empty_branches(previous)):
        return
    holder = ET.SubElement(_description(root), tag)
    if container == "Text":
        holder.text = categories_xml(values, previous)
        return
    bag = ET.SubElement(holder, f"{_RDF}{container}")
    for value in values:
        ET.SubElement(bag, f"{_RDF}li").text = value


def new_packet() -> ET.Element:
    root = ET.Element(f"{{{NS['x']}}}xmpmeta", {f"{{{NS['x']}}}xmptk": "JoyTag Desktop"})
    rdf = ET.SubElement(root, f"{_RDF}RDF")
    ET.SubElement(rdf, f"{_RDF}Description", {f"{_RDF}about": ""})
    return root


def update_packet(
    data: bytes | None,
    properties: Properties,
    changed: Iterable[str],
    source: str = "XMP",
    marks: dict[str, str | None] | None = None,
) -> bytes:
    """The XMP file with the ``changed`` keyword properties replaced by ``properties`` and the mark
    fields in ``marks`` set (None: removed); every other
    property is kept as it was, and so is the encoding. The result is parsed again before it is
    returned, so XML that does not parse is never written."""
    encoding = "utf-8"
    text = ""
    if data is None:
        root = new_packet()
        wrapped = True
    else:
        encoding = text_encoding(data)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise SidecarError(f"{source}: cannot decode the existing sidecar ({exc.reason})") from None
        _register_namespaces(text)
        root = parse_packet(data, source)
        wrapped = text.lstrip("\ufeff \r\n\t").startswith(("<?xpacket", "<?xml"))
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    for prefix, aliases in NS_ALIASES.items():  # the file's own URI keeps the prefix (no ns0)
        for uri in aliases:
            if re.search(r"=\s*[\"']" + re.escape(uri) + r"[\"']", text):
                ET.register_namespace(prefix, uri)
    for prop in changed:
        if prop in XMP_PROPERTIES:
            prefix, name, container = XMP_PROPERTIES[prop]
            _set_list(root, prefix, name, container, properties[prop])
    if marks:
        _set_marks(root, marks)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    text = f"{XPACKET_BEGIN}{body}{XPACKET_END}" if wrapped else body + "\n"
    out = text.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    if encoding == "utf-8-sig":
        out = b"\xef\xbb\xbf" + out
    check = properties_of(parse_packet(out, source))
    for prop in changed:
        if prop in XMP_PROPERTIES and check[prop] != properties[prop]:
            raise SidecarError(f"{source}: the keywords would not read back as written; left unchanged")
    after = from_entries(check[MARKS])
    if any(after.get(field) != text for field, text in (marks or {}).items()):
        raise SidecarError(f"{source}: the stars and labels would not read back as written; left unchanged")
    return out


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over the target.

    A new file gets the mode any program would get under the user's umask; an existing one keeps
    its mode and owner. A read-only file, and one owned by another user, are refused: the rename
    would silently replace them (as root, the owner is kept instead)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise SidecarError(f"{path}: {exc.strerror or exc}") from None
    if info is not None:
        if not stat.S_ISREG(info.st_mode):
            raise SidecarError(f"{path}: not a regular file, not replaced")
        if not info.st_mode & 0o222:
            raise SidecarError(f"{path}: the file is read-only; left unchanged")
        if hasattr(os, "geteuid") and os.geteuid() not in (0, info.st_uid):
            raise SidecarError(f"{path}: the file belongs to another user; left unchanged")
        mode = stat.S_IMODE(info.st_mode)
    else:
        mode = 0o666 & ~files.umask()
    try:
        # A short name: long file names (up to the 255-byte limit) must still get a sidecar.
        handle, temporary = files.temporary_beside(path)
    except OSError as exc:
        raise SidecarError(f"cannot write in {path.parent} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        if info is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
            os.chown(temporary, info.st_uid, info.st_gid)  # root writing a user's sidecar keeps it theirs
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise SidecarError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- which sidecar belongs to which image ---------------------------------------------------


def _stem(name: str) -> str:
    return os.path.splitext(name)[0].lower()


def owns_short_sidecar(image_name: str, folder_names: Iterable[str]) -> bool:
    """Whether ``photo.xmp`` belongs to ``image_name``: when no other image has the same stem, or
    when the image is the RAW of a RAW+JPEG pair (Lightroom and Camera Raw write ``photo.xmp``
    for the RAW; the JPEG's metadata is its own)."""
    stem = _stem(image_name)
    siblings = [n for n in folder_names if n != image_name and _stem(n) == stem and is_image_path(n)]
    if not siblings:
        return True
    if is_raw_path(image_name):
        return not any(is_raw_path(n) for n in siblings)
    return False


def find_sidecar(image_name: str, folder_names: Iterable[str]) -> str | None:
    """The name of the sidecar to read for an image in a folder listing, matched case-insensitively:
    ``photo.jpg.xmp`` (digiKam, darktable) first, then ``photo.xmp`` if that one is this image's."""
    names = list(folder_names)
    lowered = {n.lower(): n for n in names}
    long_name = lowered.get(f"{image_name}.xmp".lower())
    if long_name is not None:
        return long_name
    short = lowered.get(f"{os.path.splitext(image_name)[0]}.xmp".lower())
    if short is not None and owns_short_sidecar(image_name, names):
        return short
    return None


def sidecar_for(image: Path, naming: str = "jpg.xmp", folder_names: Iterable[str] | None = None) -> Path:
    """Where to read and write an image's sidecar: the existing one if there is one, else the chosen
    naming (``photo.xmp`` only when that name is this image's alone)."""
    if folder_names is None:
        try:
            folder_names = os.listdir(image.parent)
        except OSError:
            folder_names = []
    names = list(folder_names)
    found = find_sidecar(image.name, names)
    if found is not None:
        return image.with_name(found)
    if naming == "xmp" and owns_short_sidecar(image.name, names):
        return image.with_suffix(".xmp")
    return image.with_name(image.name + ".xmp")
