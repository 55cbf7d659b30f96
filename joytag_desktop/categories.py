"""The names every layer gives the kinds of tags, and the ratings, in one place.

Taggers publish tags in these categories, keyword files file them under them (JoyTag|character|name),
the library keeps, thresholds and searches them; each reads the lists from here.
"""

from __future__ import annotations

GENERAL, CHARACTER, COPYRIGHT, ARTIST, META, RATING, YEAR = (
    "general",
    "character",
    "copyright",
    "artist",
    "meta",
    "rating",
    "year",
)
SPECIES, LORE = "species", "lore"  # e621's, as JTP-3 publishes them
KEYWORD = "keyword"  # a tag imported from the files' keywords, not from a model

# The categories of a tagger's outputs (as each model publishes them).
MODEL_CATEGORIES = (GENERAL, CHARACTER, SPECIES, COPYRIGHT, ARTIST, META, LORE, RATING, YEAR)
# Every category a tag of the library can have: a model's, or an imported keyword.
CATEGORIES = (*MODEL_CATEGORIES, KEYWORD)
# The categories a model threshold can be set for (ratings are reported, never thresholded; keywords are the user's).
THRESHOLD_CATEGORIES = tuple(c for c in MODEL_CATEGORIES if c != RATING)
# The categories a search term can be restricted to (``character:*miku*``; ratings have ``rating:``).
SEARCHABLE_CATEGORIES = tuple(c for c in CATEGORIES if c != RATING)

# Image ratings, lowest to highest (WD v3 and camie-tagger rating outputs use these names).
RATINGS = ("general", "sensitive", "questionable", "explicit")
