"""Validation of one patient entered through the API, by the same field specifications the
file importer uses (patients/import_schema.py, through patients/spec_fields.py), so both paths
accept exactly the same data; fields the specification does not know are refused by name."""

from django import forms

from patients.import_schema import (
    COLUMN_NAMES,
    COLUMNS,
    FEATURE_COLUMNS,
    NOT_IMPORTED_FIELDS,
    UNKNOWN_FIELD,
    spec_text,
)
from patients.models import Department
from patients.spec_fields import spec_formfield

ERROR_VALUE_CHARS = 80  # an error quotes at most this much of the value sent


class PatientEntryForm(forms.Form):
    def __init__(self, data=None) -> None:
        # Values as sent (JSON numbers, booleans, strings): each field checks its own.
        self.raw = dict(data or {})
        super().__init__(None if data is None else self.raw)
        for column in COLUMNS:
            # external_id is the importer's key, but the API may register a patient without.
            required = column.required and column.name != "external_id"
            self.fields[column.name] = spec_formfield(column, required=required)

    def clean_department_code(self) -> Department | None:
        code = (self.cleaned_data.get("department_code") or "").strip().upper()
        if not code:
            return None
        department = Department.objects.filter(department_code=code).first()
        if department is None:
            raise forms.ValidationError("is not a known department code")
        return department

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound:
            for name in self.raw:
                if name not in COLUMN_NAMES:
                    reason = UNKNOWN_FIELD
                    if name in NOT_IMPORTED_FIELDS:
                        reason += " (the platform sets it, not a client)"
                    self._errors[str(name)[:ERROR_VALUE_CHARS]] = self.error_class([reason])
                    self.cleaned_data.pop(name, None)

    def clean(self) -> dict:
        cleaned = super().clean()
        age, elderly = cleaned.get("age"), cleaned.get("is_elderly")
        if age is not None and elderly is not None and (age >= 65) != elderly:
            self.add_error("is_elderly", f"must be 1 exactly when age is 65 or over (age {age})")
        return cleaned

    def error_details(self) -> list[dict[str, str]]:
        """Each error as field, value (as sent, shortened) and reason."""
        return [
            {"field": name, "value": spec_text(self.raw.get(name))[:ERROR_VALUE_CHARS],
             "reason": reason}
            for name, reasons in self.errors.items()
            for reason in reasons
        ]  # fmt: skip

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
