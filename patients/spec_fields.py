"""Form fields that validate through the field specifications of patients/import_schema.py:
the JSON API (patients/forms.py) and the admin's patient forms (patients/admin.py) check a
value by `value_reason`, the very rules (and words) the CSV importer applies in SQL.

Django's own fields are more lenient than the specification: int() takes "٦٥" and "6_5",
Decimal() takes "1e5", and a JSON `true` became the code 1; none of that gets through here.
"""

from dataclasses import replace
from decimal import Decimal

from django import forms

from patients.import_schema import Column, spec_text, value_reason


class SpecField(forms.Field):
    """A value checked by its column's specification, then typed (int, Decimal, bool, str).

    The check runs on the value as sent, as text: a JSON number is checked as its digits, a
    JSON `true` as "true" (which only a boolean column accepts)."""

    default_error_messages = {"required": "is required"}

    def __init__(self, column: Column, **kwargs) -> None:
        self.column = column
        super().__init__(**kwargs)

    def to_python(self, value):
        text = spec_text(value)
        if text == "":
            return None
        reason = value_reason(replace(self.column, required=False), text)  # required: validate()
        if reason:
            raise forms.ValidationError(reason, code="spec")
        kind = self.column.kind
        if kind == "integer" or (kind == "choice" and self.column.sql_type == "smallint"):
            return int(text)
        if kind == "decimal":
            return Decimal(text)
        if kind == "boolean":
            return text.lower() in ("1", "true")
        return text

    def has_changed(self, initial, data) -> bool:
        if self.disabled:
            return False
        try:
            value = self.to_python(data)
        except forms.ValidationError:
            return True
        if self.column.kind == "boolean":  # an unticked box is no change to an empty form
            return bool(initial) != bool(value)
        return ("" if initial is None else initial) != ("" if value is None else value)


def spec_formfield(column: Column, *, required: bool, **kwargs) -> SpecField:
    """A SpecField with a widget that suits its kind (a select for codes, a checkbox for
    booleans); `kwargs` go to the field (label, help_text, widget, …)."""
    if "widget" not in kwargs:
        if column.kind == "choice":
            # An empty choice even when required: an admin's untouched extra form stays empty.
            choices = [("", "---------"), *((c, c) for c in column.choices)]
            kwargs["widget"] = forms.Select(choices=choices)
        elif column.kind == "boolean":
            kwargs["widget"] = forms.CheckboxInput
        elif column.max_length:
            kwargs["widget"] = forms.TextInput(attrs={"maxlength": column.max_length})
    return SpecField(column, required=required, **kwargs)
