"""Property: whatever a client sends to the JSON APIs (POST /api/patients/, /api/admissions/),
the answer is never a 5xx, and every error answer is JSON.

Hypothesis, on a bounded and reproducible budget (derandomized, no example database): a few
hundred requests in all, some seconds. Bodies are arbitrary bytes, arbitrary JSON, and valid
submissions with some fields replaced by arbitrary values; the Idempotency-Key, Content-Type
and Authorization headers vary too.
"""

import json
import string

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.import_schema import ADMISSION_COLUMN_NAMES, COLUMN_NAMES
from riskplatform.core.api_auth import api_client_create
from tests.factories import PatientFactory
from tests.patients.csv_files import row

pytestmark = pytest.mark.django_db
ENDPOINTS = {"patients": reverse("api-patients-create"),
             "admissions": reverse("api-admissions-create")}  # fmt: skip
BUDGET = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run, CI included
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    # Just under int()'s 4,300-digit limit (json.dumps cannot write more; raw_bodies do).
    st.integers(min_value=10**4000, max_value=10**4290),
    st.floats(),  # NaN and Infinity too, which json.dumps writes as bare words
    st.text(max_size=50),
    # Lone surrogates, control and format characters (Hypothesis leaves surrogates out).
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Cf", "Zl"]), max_size=8),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
    st.sampled_from(["", " ", "1e5", "6_5", "0x10", "-0", "2024-02-30", "9999-12-31",
                     "\u202e", "\x00", "NaN", "1" * 5000, "=1+1", "true"]),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _patient_row() -> dict:
    return {k: v for k, v in row(1, external_id="FUZZ-1").items() if v != ""}


def _admission_row() -> dict:
    return {"external_id": "FUZZ-A", "admission_date": "2024-03-05", "stay_cost": "100.00"}


def _mutated(base: dict, names: tuple[str, ...]):
    """`base` with some of its fields (or unknown ones) replaced, removed or added."""
    keys = st.one_of(st.sampled_from(names), st.text(max_size=12))
    return st.tuples(
        st.dictionaries(keys, json_values, max_size=4), st.sets(st.sampled_from(sorted(base)))
    ).map(lambda change: {k: v for k, v in {**base, **change[0]}.items() if k not in change[1]})


bodies = {
    "patients": _mutated(_patient_row(), COLUMN_NAMES),
    "admissions": st.one_of(
        _mutated(_admission_row(), ADMISSION_COLUMN_NAMES),
        st.lists(_mutated(_admission_row(), ADMISSION_COLUMN_NAMES), max_size=3).map(
            lambda rows: {"admissions": rows}
        ),
    ),
}
keys = st.one_of(
    st.none(), st.text(max_size=300), st.text(alphabet=string.ascii_letters, min_size=1)
)
content_types = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
)


@pytest.fixture
def api():
    PatientFactory(external_id="FUZZ-A")  # admissions can name a real patient
    token = api_client_create(name="fuzz")[1]
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")


def _check(response) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json", response.content[:500]
        assert "errors" in response.json()


def _post(api, endpoint: str, body: bytes, key: str | None, content_type: str):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(ENDPOINTS[endpoint], data=body, content_type=content_type, **headers)


def _encoded(value) -> bytes:
    # ensure_ascii: lone surrogates travel as \ud800 escapes, as a client's JSON would.
    return json.dumps(value, default=str).encode()


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@BUDGET
@given(data=st.data())
def test_submissions_with_arbitrary_fields_never_fail(api, endpoint, data):
    body = data.draw(bodies[endpoint])
    _check(_post(api, endpoint, _encoded(body), data.draw(keys), "application/json"))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@BUDGET
@given(value=json_values, key=keys, content_type=content_types)
def test_arbitrary_json_never_fails(api, endpoint, value, key, content_type):
    _check(_post(api, endpoint, _encoded(value), key, content_type))


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 5000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.integers(4000, 6000).map(lambda digits: b'{"age": ' + b"7" * digits + b"}"),
)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@BUDGET
@given(body=raw_bodies, key=keys)
def test_arbitrary_bytes_never_fail(api, endpoint, body, key):
    _check(_post(api, endpoint, body, key, "application/json"))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@settings(BUDGET, max_examples=50)
@given(authorization=st.text(max_size=100), method=st.sampled_from(["get", "post", "put"]))
def test_arbitrary_credentials_and_methods_never_fail(api, endpoint, authorization, method):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=authorization)
    url = ENDPOINTS[endpoint]
    if method == "get":
        _check(client.get(url))
    else:
        _check(getattr(client, method)(url, data=b"{}", content_type="application/json"))
