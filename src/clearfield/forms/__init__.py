"""Field data collection forms (XLSForms for ODK Collect and KoboToolbox).

Field teams report from tablets; the forms they fill in are built here from the domain
records and enumerations, so a question's name is the property the importer reads and a
choice list is an enumeration's values (see ``docs/forms.md`` for the contract).
"""

from __future__ import annotations

from clearfield.forms.definitions import FORMS, FORMS_DIR, build_forms, write_forms
from clearfield.forms.xlsform import Form, Question

__all__ = ["FORMS", "FORMS_DIR", "Form", "Question", "build_forms", "write_forms"]
