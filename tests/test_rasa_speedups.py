import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups


def test_valid_action_answers_pass_and_invalid_ones_still_raise_rasas_error():
    rasa_speedups.install()
    rasa_speedups.install()  # idempotent
    assert RemoteAction._validate_action_result is not rasa_speedups._original  # installed
    action = RemoteAction("action_answer_procedure", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "procedure", "value": "khai_sinh"}],
                                           "responses": [{"text": "chào"}]})
    with pytest.raises(ValidationError) as error:
        action._validate_action_result({"events": [{"name": "procedure"}], "responses": []})
    assert "Failed to validate Action server response" in error.value.message
