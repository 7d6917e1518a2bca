"""Validation: openapi-core's compiled validator for the verdict, openapi-core's request check for errors."""

from __future__ import annotations

from contracts.core.spec import load_document, load_openapi, operations, relative_base_path
from mockserver.engine.validation import OperationValidator

DOC = load_document()
OPS = operations(DOC)


def validator(op_id: str) -> OperationValidator:
    return OperationValidator(load_openapi(), OPS[op_id], relative_base_path(DOC))


def test_valid_bodies_pass(valid_body):
    assert validator("inpaint").errors(valid_body) is None
    assert validator("fetchById").errors({"key": "k"}, {"id": "1"}) is None
    assert validator("fetchByRequestId").errors({"key": "k", "request_id": "130000001"}) is None


def test_errors_name_every_field(valid_body):
    valid_body.update(width=513, samples=0, safety_checker="maybe")
    del valid_body["mask_image"]
    assert validator("inpaint").errors(valid_body) == {
        "mask_image": ["The mask image field is required."],
        "width": ["The width field must be a multiple of 8."],
        "samples": ["The samples field must be at least 1."],
        "safety_checker": ["The selected safety checker is invalid."],
    }


def test_fetch_by_request_id_requires_digits():
    assert validator("fetchByRequestId").errors({"key": "k", "request_id": "abc"}) == {
        "request_id": ["The request id field format is invalid."]}
