"""Child identity: the deterministic match key on normalised names and date of birth.

How episodes find their child (services/classifier/linking.py applies it, first match wins):

1. the police person id, within the same force (the same id in two forces means nothing);
2. otherwise the match key: normalised given name + normalised family name + date of birth, in any
   force or local authority. Candidates whose episode in the same force carries a different police
   person id are not the same child. Exactly one matching child is a match; two or more (children
   the police tell apart who share a name and birth date) are ambiguous and match none;
3. otherwise a new child with a random UUID (never derived from the name).

An update that changes the name, date of birth or person id runs the same match again, unless an
MSET coordinator linked the episode by hand (then only a person moves it).

Normalisation of a name: Unicode NFKC, casefold, NFKC again (casefolding can un-normalise), then trim
and collapse every run of inner whitespace to one space. So "LEAH ", "leah" and "Leah" match, and so
do full-width letters.
It does NOT: remove accents ("Zoë" is not "Zoe"), ignore hyphens or apostrophes ("Mary-Jane" is not
"Mary Jane"), know nicknames ("Alex"/"Alexander"), forgive typos or swapped names, or use aliases.
There is no fuzzy matching: a near miss is two children until an MSET coordinator links them.
"""

from __future__ import annotations

import unicodedata
from datetime import date


def normalise(name: str) -> str:
    """NFKC, casefold, NFKC, trim, collapse inner whitespace."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


def match_key(given_name: str, family_name: str, date_of_birth: date) -> str:
    """The key episodes of one child share when no police person id links them."""
    return f"{normalise(given_name)}|{normalise(family_name)}|{date_of_birth.isoformat()}"
