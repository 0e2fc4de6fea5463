"""Unit tests of how ``patches/iam_enforce.py`` maps SSM Parameter Store requests (the
vault's register of protected databases) to IAM resources and condition keys.

    .venv/bin/python -m unittest discover -s tests/emulator/tests

References: Service Authorization Reference, "Actions, resources, and condition keys for
AWS Systems Manager" (resource type ``parameter``:
``arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}``;
``ssm:Overwrite`` on PutParameter, ``ssm:Recursive`` on GetParametersByPath).
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patches import iam_catalogue, iam_enforce  # noqa: E402
from patches.iam_enforce import Call  # noqa: E402
from patches.iam_policy import Principal  # noqa: E402

A = "222222222222"
REGION = "us-east-1"
PATH = "/offsite/protected-databases"
PRINCIPAL = Principal(account=A, arn=f"arn:aws:sts::{A}:assumed-role/reconciler/session")


def call(operation: str, **params: object) -> Call:
    return Call(service="ssm", operation=operation, account=A, region=REGION, params=dict(params), headers={})


class SsmMapping(unittest.TestCase):
    def test_a_parameter_and_a_path_are_parameter_arns_without_the_leading_slash(self) -> None:
        put = call("PutParameter", Name=f"{PATH}/111111111111/orders", Value="{}", Overwrite=False)
        info = iam_catalogue.action("ssm", "PutParameter")
        assert info is not None
        self.assertEqual(
            iam_enforce.resources_of(put, info),
            [f"arn:aws:ssm:{REGION}:{A}:parameter/offsite/protected-databases/111111111111/orders"],
        )
        by_path = call("GetParametersByPath", Path=PATH, Recursive=True)
        info = iam_catalogue.action("ssm", "GetParametersByPath")
        assert info is not None
        self.assertEqual(
            iam_enforce.resources_of(by_path, info), [f"arn:aws:ssm:{REGION}:{A}:parameter/offsite/protected-databases"]
        )

    def test_overwrite_and_recursive_are_in_the_context_only_when_the_request_names_them(self) -> None:
        named = iam_enforce.authorizations(call("PutParameter", Name=f"{PATH}/1/orders", Overwrite=False), PRINCIPAL)
        self.assertEqual([a.context.get("ssm:overwrite") for a in named], [["false"]])
        omitted = iam_enforce.authorizations(call("PutParameter", Name=f"{PATH}/1/orders"), PRINCIPAL)
        self.assertEqual([a.context.get("ssm:overwrite") for a in omitted], [None])
        recursive = iam_enforce.authorizations(call("GetParametersByPath", Path=PATH, Recursive=True), PRINCIPAL)
        self.assertEqual([a.context.get("ssm:recursive") for a in recursive], [["true"]])


if __name__ == "__main__":
    unittest.main()
