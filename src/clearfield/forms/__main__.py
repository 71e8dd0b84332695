"""Regenerate the shipped forms: ``python -m clearfield.forms [FOLDER]``.

Run it after changing ``clearfield.forms.definitions`` or an enumeration the forms use; the
forms test fails until the shipped ``.xlsx`` files equal what the code builds.
"""

from __future__ import annotations

import sys

from clearfield.forms.definitions import FORMS_DIR, write_forms

if __name__ == "__main__":
    for written in write_forms(sys.argv[1] if len(sys.argv) > 1 else FORMS_DIR):
        print(written)
