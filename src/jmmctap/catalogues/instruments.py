"""The facility's instrument behind an OIFITS INSNAME (``PIONIER_Pnat(1.59/1.76)`` → ``PIONIER``).

INSNAME names a spectral setup, not an instrument: pipelines write ``PIONIER_Pnat(<lambda range>)``,
``GRAVITY_SC`` / ``GRAVITY_FT``, ``AMBER(<range>)``, ``CHARA_MIRC``, ``MIDI/PRISM``. ObsCore's
``instrument_name`` is the instrument, so that ``instrument_name = 'PIONIER'`` finds PIONIER data.
The first word of INSNAME (words split at ``_ ( ) / , : ; . space`` and digits, hyphens kept for
``MIRC-X``) naming a known instrument wins; otherwise the primary header's ``INSTRUME`` keyword read
the same way (GRAVITY commissioning files write ``SPECTRO_SC``); otherwise the instrument is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["KNOWN_INSTRUMENTS", "instrument_of"]

KNOWN_INSTRUMENTS: Mapping[str, str] = {
    # VLTI
    "PIONIER": "PIONIER", "GRAVITY": "GRAVITY", "MATISSE": "MATISSE", "AMBER": "AMBER", "MIDI": "MIDI",
    "VINCI": "VINCI",
    # CHARA
    "MIRC-X": "MIRC-X", "MIRCX": "MIRC-X", "MIRC": "MIRC", "MYSTIC": "MYSTIC", "SPICA": "SPICA",
    "CLIMB": "CLIMB", "CLASSIC": "CLASSIC", "VEGA": "VEGA", "FRIEND": "FRIEND", "FLUOR": "FLUOR",
    "JOUFLU": "JouFLU", "PAVO": "PAVO", "SILMARIL": "SILMARIL",
    # NPOI, IOTA, SUSI, GI2T, Keck
    "VISION": "VISION", "IONIC": "IONIC", "REGAIN": "REGAIN",
}
"""Word (upper case) of an INSNAME or INSTRUME → instrument name as the facilities spell it."""

_WORDS = re.compile(r"[A-Za-z][A-Za-z-]*")


def instrument_of(insname: str, instrume: str | None = None) -> str | None:
    """The instrument of an INSNAME (or of the file's ``INSTRUME``), None when neither names a known one."""
    for text in (insname, instrume or ""):
        for word in _WORDS.findall(text):
            found = KNOWN_INSTRUMENTS.get(word.upper().rstrip("-"))
            if found:
                return found
    return None
