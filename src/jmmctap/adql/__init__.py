"""The ADQL 2.1 engine: our own LALR parser, a resolver bound to TAP_SCHEMA and a PostgreSQL/pgsphere emitter.

``translate(query, tap_schema)`` is the whole interface; ``features`` lists what the engine
supports, for the VOSI capabilities document.
"""

from jmmctap.adql.limits import Limits, limits_of
from jmmctap.adql.translate import Translation, translate, translate_in_thread

__all__ = ["Limits", "Translation", "limits_of", "translate", "translate_in_thread"]
