"""Validation of one patient entered through the API, from the same column definitions the
file importer uses (patients/import_schema.py), so both paths accept exactly the same data."""

import re

from django import forms

from patients.import_schema import COLUMNS, FEATURE_COLUMNS, Column
from patients.models import Department

_NUMERIC = re.compile(r"numeric\((\d+),(\d+)\)")


def _field(column: Column) -> forms.Field:
    required = column.required and column.name != "external_id"
    if column.kind == "integer":
        return forms.IntegerField(
            min_value=int(column.minimum), max_value=int(column.maximum), required=required
        )
    if column.kind == "decimal":
        digits, places = map(int, _NUMERIC.match(column.sql_type).groups())
        return forms.DecimalField(
            max_digits=digits,
            decimal_places=places,
            min_value=column.minimum,
            max_value=column.maximum,
            required=required,
        )
    if column.kind == "choice":
        choices = [(c, c) for c in column.choices]
        coerce = int if column.sql_type == "smallint" else str
        return forms.TypedChoiceField(choices=choices, coerce=coerce, required=required)
    if column.kind == "boolean":
        return forms.TypedChoiceField(
            choices=[(v, v) for v in ("0", "1", "true", "false", "True", "False")],
            coerce=lambda v: str(v).lower() in ("1", "true"),
            required=True,
        )
    return forms.CharField(max_length=column.max_length, required=required)


class PatientEntryForm(forms.Form):
    def __init__(self, data=None) -> None:
        # JSON numbers and booleans arrive as Python values; the fields parse strings.
        normalised = None if data is None else {k: _as_text(v) for k, v in data.items()}
        super().__init__(normalised)
        for column in COLUMNS:
            self.fields[column.name] = _field(column)

    def clean_department_code(self) -> Department | None:
        code = (self.cleaned_data.get("department_code") or "").strip().upper()
        if not code:
            return None
        department = Department.objects.filter(department_code=code).first()
        if department is None:
            raise forms.ValidationError("is not a known department code")
        return department

    def clean(self) -> dict:
        cleaned = super().clean()
        age, elderly = cleaned.get("age"), cleaned.get("is_elderly")
        if age is not None and elderly is not None and (age >= 65) != elderly:
            self.add_error("is_elderly", f"must be 1 exactly when age is 65 or over (age {age})")
        return cleaned

    def demographics(self) -> dict:
        data = self.cleaned_data
        return {
            "external_id": data.get("external_id") or None,
            "age": data["age"],
            "gender": data["gender"],
            "race": data["race"],
            "annual_cost": data["annual_cost"],
            "cost_percentile": data["cost_percentile"],
        }

    def features(self) -> dict:
        return {column.name: self.cleaned_data[column.name] for column in FEATURE_COLUMNS}


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)
