import pytest

from patients import feature_contract
from patients.models import Patient, PatientFeatures

TABLES = {"patients": Patient, "patient_features": PatientFeatures}


def test_v1_is_the_seed_feature_columns_plus_age_gender_race():
    names = feature_contract.feature_names(1)
    assert len(names) == 26 == len(set(names))
    assert names[:3] == ["age", "gender", "race"]


@pytest.mark.parametrize("feature", feature_contract.features(1), ids=lambda f: f.name)
def test_every_feature_is_a_column_of_its_table(feature):
    model = TABLES[feature.table]
    assert model._meta.db_table == feature.table
    assert model._meta.get_field(feature.name).column == feature.name


def test_every_feature_column_of_patient_features_is_in_the_contract():
    bookkeeping = {"feature_id", "patient_id", "feature_version", "created_at", "updated_at"}
    columns = {f.column for f in PatientFeatures._meta.concrete_fields} - bookkeeping
    in_contract = {f.name for f in feature_contract.features(1) if f.table == "patient_features"}
    assert columns == in_contract


def test_unknown_contract_version_is_an_error():
    with pytest.raises(ValueError, match="Unknown feature contract version 99"):
        feature_contract.features(99)
