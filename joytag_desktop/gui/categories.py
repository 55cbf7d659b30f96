"""Tag categories as the GUI shows them: a colour and a name each (Danbooru's colours, as
Hydrus colours its namespaces), in the order the tag lists group them."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor

# The order of the groups: what people look for first (who and from what) before the long general list.
ORDER = ("character", "copyright", "artist", "general", "meta", "year", "rating", "keyword")
COLOURS = {
    "character": QColor(0, 171, 44),
    "copyright": QColor(168, 0, 170),
    "artist": QColor(192, 0, 4),
    "general": QColor(0, 117, 248),
    "meta": QColor(253, 146, 0),
    "year": QColor(0, 150, 150),
    "rating": QColor(120, 120, 160),
    "keyword": QColor(150, 110, 60),
}


def category_colour(category: str) -> QColor:
    return COLOURS.get(category, COLOURS["general"])


def category_label(category: str) -> str:
    """The group's name in the tag lists; "General" is the category of everyday tags (the content
    rating of the same English word is another text: see ``details.DetailsPanel``)."""
    labels = {
        "character": QCoreApplication.translate("categories", "Characters"),
        "species": QCoreApplication.translate("categories", "Species"),
        "copyright": QCoreApplication.translate("categories", "Series"),
        "artist": QCoreApplication.translate("categories", "Artists"),
        "general": QCoreApplication.translate("categories", "General", "tag category: everyday tags"),
        "meta": QCoreApplication.translate("categories", "Meta"),
        "lore": QCoreApplication.translate("categories", "Lore"),
        "year": QCoreApplication.translate("categories", "Year"),
        "rating": QCoreApplication.translate("categories", "Rating"),
        "keyword": QCoreApplication.translate("categories", "Keywords from the files"),
    }
    return labels.get(category, category)


def rating_label(rating: str) -> str:
    """A content rating's name ("general" is "all ages" here, not the tag category of that word)."""
    labels = {
        "general": QCoreApplication.translate("ratings", "General", "content rating: all ages"),
        "sensitive": QCoreApplication.translate("ratings", "Sensitive", "content rating"),
        "questionable": QCoreApplication.translate("ratings", "Questionable", "content rating"),
        "explicit": QCoreApplication.translate("ratings", "Explicit", "content rating"),
    }
    return labels.get(rating, rating)


def category_rank(category: str) -> int:
    return ORDER.index(category) if category in ORDER else len(ORDER)
