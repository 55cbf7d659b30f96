"""Stars, colour labels and picks in files, in the fields other programs use.

A file's marks are kept as its raw fields (``Raw``: field name -> text as written), so a change in
one program's field is seen even where another program's copy still says the old value:

- stars: ``xmp:Rating`` (-1 rejected, as Lightroom and Bridge write it; 0-5), ``MicrosoftPhoto:Rating``
  (Windows' percent: 1, 25, 50, 75, 99, which digiKam writes too), EXIF ``Rating`` (0x4746) and
  ``RatingPercent`` (0x4749), inside images only;
- label: ``xmp:Label`` (Lightroom's names: Red, Yellow, Green, Blue, Purple), ``digiKam:ColorLabel``
  (0 none, 1 red, 2 orange, 3 yellow, 4 green, 5 blue, 6 magenta, 7 gray, 8 black, 9 white) and
  ``darktable:colorlabels`` (a list of 0 red, 1 yellow, 2 green, 3 blue, 4 purple);
- pick: ``digiKam:PickLabel`` (0 none, 1 rejected, 2 pending, 3 accepted).

Two-way sync keeps, per file, the raw fields as the last sync left them (the snapshot). A field that
differs from its snapshot was changed by another program since: its value is taken in
(``changes_since``). The app writes a mark only where the library's value differs from what the
file says (``plan``): the standard field always, the other programs' copies where the file has them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from joytag_desktop.errors import JoyTagError

Raw = dict[str, str]
MARKS = "marks"  # the key of a file's raw marks beside its keyword properties (``field=value`` entries)

MARKS_NAMES = ("stars", "label", "pick")
STARS_RANGE = range(-1, 6)  # -1: rejected; 0: no stars; None in the library: never set
# The colour labels, in digiKam's order (its ColorLabel number is the index); magenta is Lightroom's purple.
LABELS = ("red", "orange", "yellow", "green", "blue", "purple", "gray", "black", "white")
PICKS = ("rejected", "pending", "picked")  # digiKam's PickLabel 1, 2, 3 (0: none)
DARKTABLE_LABELS = ("red", "yellow", "green", "blue", "purple")
PERCENT = {0: 0, 1: 1, 2: 25, 3: 50, 4: 75, 5: 99}  # Windows' stars as percent

XMP_RATING = "xmp:Rating"
MS_RATING = "MicrosoftPhoto:Rating"
EXIF_RATING = "EXIF:Rating"
EXIF_PERCENT = "EXIF:RatingPercent"
XMP_LABEL = "xmp:Label"
DK_COLOR = "digiKam:ColorLabel"
DT_COLORS = "darktable:colorlabels"
DK_PICK = "digiKam:PickLabel"
# Each mark's fields, the standard one first (read in this order when none changed).
SOURCES = {
    "stars": (XMP_RATING, MS_RATING, EXIF_RATING, EXIF_PERCENT),
    "label": (XMP_LABEL, DK_COLOR, DT_COLORS),
    "pick": (DK_PICK,),
}
# Always written (where the library has a value); the others only where the file has them already.
STANDARD = (XMP_RATING, XMP_LABEL, DK_PICK)
EXIF_FIELDS = (EXIF_RATING, EXIF_PERCENT)  # inside images only (a sidecar has no EXIF block)
XMP_FIELDS = (XMP_RATING, MS_RATING, XMP_LABEL, DK_COLOR, DT_COLORS, DK_PICK)


class MarkError(JoyTagError):
    """A star rating, label or pick the app does not know."""


@dataclass(frozen=True)
class Marks:
    """An image's stars (-1..5), colour label and pick; None: not set."""

    stars: int | None = None
    label: str | None = None
    pick: str | None = None

    def get(self, mark: str) -> object:
        return getattr(self, mark)


def check_stars(stars: int | None) -> int | None:
    if stars is not None and stars not in STARS_RANGE:
        raise MarkError(f"stars must be -1 (rejected) to 5, not {stars}")
    return stars


def check_label(label: str | None) -> str | None:
    if label is None:
        return None
    name = label.strip().lower()
    name = "purple" if name == "magenta" else "gray" if name == "grey" else name
    if name not in LABELS:
        raise MarkError(f"unknown colour label {label!r}: use {', '.join(LABELS)} or none")
    return name


PICK_ALIASES = {"accepted": "picked", "pick": "picked", "flagged": "picked", "reject": "rejected"}


def check_pick(pick: str | None) -> str | None:
    if pick is None:
        return None
    name = pick.strip().lower()
    name = PICK_ALIASES.get(name, name)
    if name not in PICKS:
        raise MarkError(f"unknown pick {pick!r}: use picked, rejected, pending or none")
    return name


# --- raw fields -> values ------------------------------------------------------------------------


def _number(text: str) -> float | None:
    """The field's number; None for text, and for "inf" or "NaN", which no program means as a mark."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _stars_of(field: str, text: str) -> int | None:
    value = _number(text)
    if value is None:
        return None
    if field in (MS_RATING, EXIF_PERCENT):
        if value <= 0:
            return 0
        return min(5, 1 + int((value + 12) // 25))  # 1->1, 25->2, 50->3, 75->4, 99->5 (Windows' bands)
    stars = round(value)
    return -1 if stars < 0 else min(stars, 5)


def _label_of(field: str, text: str) -> str | None:
    text = text.strip()
    if field == XMP_LABEL:
        try:
            return check_label(text)
        except MarkError:
            return None  # a custom label set's name ("Approved"): not one of ours, left alone
    if field == DK_COLOR:
        number = _number(text)
        return LABELS[int(number) - 1] if number is not None and 1 <= number <= len(LABELS) else None
    for part in text.split(","):  # darktable: several labels; the first known one is shown
        number = _number(part)
        if number is not None and 0 <= number < len(DARKTABLE_LABELS):
            return DARKTABLE_LABELS[int(number)]
    return None


def _pick_of(text: str) -> str | None:
    number = _number(text)
    return PICKS[int(number) - 1] if number is not None and 1 <= number <= len(PICKS) else None


def value_of(mark: str, field: str, text: str) -> object:
    """What one raw field says of its mark (None: nothing this app reads as a value)."""
    if mark == "stars":
        return _stars_of(field, text)
    if mark == "label":
        return _label_of(field, text)
    return _pick_of(text)


def read(raw: Mapping[str, str]) -> Marks:
    """The marks a file says (each from the first of its fields that holds one)."""
    found: dict[str, object] = {}
    for mark, fields in SOURCES.items():
        found[mark] = next(
            (v for f in fields if f in raw and (v := value_of(mark, f, raw[f])) is not None),
            None,
        )
    return Marks(**found)  # type: ignore[arg-type]


def changes_since(raw: Mapping[str, str], snapshot: Mapping[str, str] | None) -> dict[str, object]:
    """The marks another program changed since the snapshot (mark -> its new value, None: removed).

    Without a snapshot (never synced), every mark the file holds is news. A field changed in one
    program wins over the copies it left stale; a copy removed while another still holds a value
    changes nothing (a program that does not know that field dropped it)."""
    if snapshot is None:
        marks = read(raw)
        return {mark: marks.get(mark) for mark in SOURCES if marks.get(mark) is not None}
    out: dict[str, object] = {}
    for mark, fields in SOURCES.items():
        changed = [f for f in fields if raw.get(f) != snapshot.get(f)]
        if not changed:
            continue
        values = [value_of(mark, f, raw[f]) for f in changed if f in raw]
        value = next((v for v in values if v is not None), None)
        if value is not None:
            out[mark] = value
        elif not any(value_of(mark, f, raw[f]) is not None for f in fields if f in raw) and any(
            f in snapshot for f in changed
        ):
            out[mark] = None
    return out


# --- values -> raw fields ------------------------------------------------------------------------


def plan(raw: Mapping[str, str], wanted: Marks, inside_image: bool) -> Raw:
    """The file's raw fields after writing ``wanted`` where it differs from what the file says.

    ``xmp:Rating``, ``xmp:Label`` and ``digiKam:PickLabel`` are written whenever a value is set; the
    other programs' copies (Windows' percent, digiKam's ColorLabel, darktable's list, EXIF) are kept in
    step where the file has them. A mark set to None is removed from every field the app writes."""
    new: Raw = dict(raw)
    says = read(raw)
    if wanted.stars != says.stars:
        _put(new, XMP_RATING, None if wanted.stars is None else str(wanted.stars), True)
        percent = None if wanted.stars is None or wanted.stars < 0 else str(PERCENT[wanted.stars])
        _put(new, MS_RATING, percent, False)
        if inside_image:
            _put(new, EXIF_RATING, None if wanted.stars is None else str(max(wanted.stars, 0)), False)
            _put(new, EXIF_PERCENT, percent, False)
    if wanted.label != says.label:
        label = wanted.label
        if label is not None or _label_of(XMP_LABEL, raw.get(XMP_LABEL, "")) is not None:
            _put(new, XMP_LABEL, None if label is None else label.capitalize(), True)
        # else: a name of another label set ("Approved") the app never read: taking a label off leaves it
        _put(new, DK_COLOR, "0" if label is None else str(LABELS.index(label) + 1), False)
        _put(new, DT_COLORS, _darktable(raw.get(DT_COLORS), says.label, label), False)
    if wanted.pick != says.pick:
        _put(new, DK_PICK, None if wanted.pick is None else str(PICKS.index(wanted.pick) + 1), True)
    return new


def _darktable(text: str | None, shown: str | None, label: str | None) -> str | None:
    """darktable's list with the label the app showed replaced by ``label``; its other labels, which
    the app does not show, are kept. None (no label) empties it: a label left there would be read
    back as the image's label."""
    if label is None:
        return None
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    if shown is not None:
        parts = [part for part in parts if _label_of(DT_COLORS, part) != shown]
    if label in DARKTABLE_LABELS:
        number = str(DARKTABLE_LABELS.index(label))
        parts = [number, *(part for part in parts if part != number)]
    return ",".join(parts) or None


def _put(raw: Raw, field: str, text: str | None, standard: bool) -> None:
    if field not in raw and not (standard and text is not None):
        return  # another program's copy the file does not have: not added
    if text is None:
        raw.pop(field, None)
    else:
        raw[field] = text


def changed_fields(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str | None]:
    """Field -> new text (None: remove) for the fields that differ."""
    return {f: after.get(f) for f in {*before, *after} if before.get(f) != after.get(f)}


# --- carried beside keyword properties -------------------------------------------------------------


def to_entries(raw: Mapping[str, str]) -> list[str]:
    return [f"{field}={text}" for field, text in sorted(raw.items())]


def from_entries(entries: list[str] | None) -> Raw:
    raw: Raw = {}
    for entry in entries or ():
        field, _, text = entry.partition("=")
        raw[field] = text
    return raw
