"""URL converters. `<dept:…>`: a department code in a URL has exactly the shape PostgreSQL allows
(patients.models.DEPARTMENT_CODE_PATTERN), so `/worklists/ab/…` is a plain 404 and every
stored code reverses to a URL."""

from django.urls import register_converter

from patients.models import DEPARTMENT_CODE_PATTERN


class DepartmentCodeConverter:
    regex = DEPARTMENT_CODE_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DepartmentCodeConverter, "dept")
