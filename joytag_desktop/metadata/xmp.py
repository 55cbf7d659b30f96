"""XMP sidecars: reading keywords and merging ours in, keeping everything else.

Keywords go to ``dc:subject`` (leaf names), ``lr:hierarchicalSubject`` (``Parent|tag``) and
``digiKam:TagsList`` (``Parent/tag``); digiKam and Immich read TagsList first. Parsing uses
defusedxml, so a sidecar with a DTD, entities or external references is refused. Writes are
atomic (temporary file, fsync, rename); a sidecar we cannot parse is never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET  # noqa: N817 - building and serialising only; parsing is defusedxml

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from joytag_desktop.errors import JoyTagError

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
}
DEFAULT_PARENT = "JoyTag"
XPACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
XPACKET_END = '\n<?xpacket end="w"?>\n'
_RDF = f"{{{NS['rdf']}}}"


class SidecarError(JoyTagError):
    """A sidecar that cannot be read (malformed, hostile) or written (permissions)."""


@dataclass
class Keywords:
    """Keywords found in one XMP packet, per property (hierarchical ones as full paths)."""

    tags_list: list[str]
    hierarchical: list[str]
    subject: list[str]

    def leaves(self) -> list[str]:
        """Keywords in digiKam's order of precedence: the first property that has any wins."""
        if self.tags_list:
            return _unique(k.rsplit("/", 1)[-1] for k in self.tags_list)
        if self.hierarchical:
            return _unique(k.rsplit("|", 1)[-1] for k in self.hierarchical)
        return _unique(self.subject)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in items if item and item.strip()))


def sidecar_candidates(image: Path) -> tuple[Path, Path]:
    """``photo.jpg.xmp`` (digiKam, darktable) and ``photo.xmp`` (Lightroom, Capture One)."""
    return image.with_name(image.name + ".xmp"), image.with_suffix(".xmp")


def existing_sidecar(image: Path) -> Path | None:
    """The sidecar to read: ``photo.jpg.xmp`` wins when both exist."""
    for candidate in sidecar_candidates(image):
        if candidate.is_file():
            return candidate
    return None


def sidecar_path(image: Path, naming: str = "jpg.xmp") -> Path:
    """Where to write: the existing sidecar if there is one, else the chosen naming."""
    found = existing_sidecar(image)
    if found is not None:
        return found
    long_name, short_name = sidecar_candidates(image)
    return long_name if naming == "jpg.xmp" else short_name


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
    return root


def _items(root: ET.Element, prefix: str, name: str) -> list[str]:
    tag = f"{{{NS[prefix]}}}{name}"
    values: list[str] = []
    for element in root.iter(tag):
        values += [li.text or "" for li in element.iter(f"{_RDF}li")]
    for description in root.iter(f"{_RDF}Description"):  # a single value written as an attribute
        if tag in description.attrib:
            values.append(description.attrib[tag])
    return _unique(values)


def read_keywords_from_packet(data: bytes | str, source: str = "XMP") -> Keywords:
    root = parse_packet(data, source)
    return Keywords(
        _items(root, "digiKam", "TagsList"), _items(root, "lr", "hierarchicalSubject"), _items(root, "dc", "subject")
    )


def read_sidecar(path: Path) -> Keywords:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SidecarError(f"{path}: {exc.strerror or exc}") from None
    return read_keywords_from_packet(data, str(path))


def _description(root: ET.Element) -> ET.Element:
    rdf = root if root.tag == f"{_RDF}RDF" else root.find(f".//{_RDF}RDF")
    assert rdf is not None
    description = rdf.find(f"{_RDF}Description")
    if description is None:
        description = ET.SubElement(rdf, f"{_RDF}Description", {f"{_RDF}about": ""})
    return description


def _set_list(root: ET.Element, prefix: str, name: str, container: str, values: list[str]) -> None:
    """Replace property ``prefix:name`` (wherever it is) with an rdf:Bag/Seq of ``values``."""
    tag = f"{{{NS[prefix]}}}{name}"
    for description in root.iter(f"{_RDF}Description"):
        description.attrib.pop(tag, None)
        for element in description.findall(tag):
            description.remove(element)
    if not values:
        return
    holder = ET.SubElement(_description(root), tag)
    bag = ET.SubElement(holder, f"{_RDF}{container}")
    for value in values:
        ET.SubElement(bag, f"{_RDF}li").text = value


def merge_lists(existing: list[str], ours: list[str], remove: set[str], leaf_of) -> list[str]:  # noqa: ANN001
    """Existing values minus those whose leaf we remove, then ours (in order), without duplicates."""
    kept = [value for value in existing if leaf_of(value) not in remove]
    return _unique([*kept, *ours])


def new_packet() -> ET.Element:
    root = ET.Element(f"{{{NS['x']}}}xmpmeta", {f"{{{NS['x']}}}xmptk": "JoyTag Desktop"})
    rdf = ET.SubElement(root, f"{_RDF}RDF")
    ET.SubElement(rdf, f"{_RDF}Description", {f"{_RDF}about": ""})
    return root


def update_packet(
    text: str | None, tags: list[str], remove: set[str], parent: str = DEFAULT_PARENT, leaf_only: set[str] = frozenset()
) -> str:
    """The XMP text with ``tags`` added to the three keyword properties and keywords whose leaf is
    in ``remove`` taken out; every other property is kept as it was. Tags in ``leaf_only`` (imported
    from elsewhere, already filed in someone's hierarchy) go to ``dc:subject`` only."""
    if text is None:
        root = new_packet()
    else:
        _register_namespaces(text)
        root = parse_packet(text)
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    current = Keywords(
        _items(root, "digiKam", "TagsList"), _items(root, "lr", "hierarchicalSubject"), _items(root, "dc", "subject")
    )
    remove = remove - set(tags)
    subject = merge_lists(current.subject, tags, remove, lambda v: v)
    filed = [t for t in tags if t not in leaf_only]
    hierarchical = merge_lists(
        current.hierarchical, [f"{parent}|{t}" for t in filed if "|" not in t], remove, lambda v: v.rsplit("|", 1)[-1]
    )
    tags_list = merge_lists(
        current.tags_list, [f"{parent}/{t}" for t in filed if "/" not in t], remove, lambda v: v.rsplit("/", 1)[-1]
    )
    _set_list(root, "dc", "subject", "Bag", subject)
    _set_list(root, "lr", "hierarchicalSubject", "Bag", hierarchical)
    _set_list(root, "digiKam", "TagsList", "Seq", tags_list)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    wrapped = text is None or text.lstrip().startswith("<?xpacket")
    return f"{XPACKET_BEGIN}{body}{XPACKET_END}" if wrapped else body + "\n"


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over the target."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SidecarError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise SidecarError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_sidecar(
    path: Path, tags: list[str], remove: set[str], parent: str = DEFAULT_PARENT, leaf_only: set[str] = frozenset()
) -> None:
    """Merge ``tags`` into the sidecar at ``path`` (created if missing). Raises SidecarError."""
    text = None
    if path.exists():
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SidecarError(f"{path}: cannot read the existing sidecar ({exc})") from None
    atomic_write(path, update_packet(text, tags, remove, parent, leaf_only).encode("utf-8"))
