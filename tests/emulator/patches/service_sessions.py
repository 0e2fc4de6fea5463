"""Control call (not a moto patch): the credentials an AWS service gives the code it runs
under a role, such as a Lambda function's execution role.

``POST /_offsite/sts/service-session`` ``{"role_arn", "service", "session_name"}``

Lambda assumes a function's execution role as the service principal ``lambda.amazonaws.com``
and hands the function that session's credentials (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``); the role's trust policy must allow that
service principal ``sts:AssumeRole`` (Lambda Developer Guide, "Defining Lambda function
permissions with an execution role"; IAM User Guide, "AWS JSON policy elements: Principal",
AWS service principals). No caller of the emulator's API can do this: the bootstrap identity
is not ``lambda.amazonaws.com``, so ``AssumeRole`` of a role that trusts only Lambda is
refused (as in AWS). This call plays the service's part.

* The role must exist in its account's IAM (ARN with its path, as ``GetRole`` gives it), else
  400 with AWS's ``NoSuchEntity`` wording.
* Its trust policy is evaluated with ``iam_policy.evaluate_policy`` for the principal
  ``Principal(service=<service>)``, action ``sts:AssumeRole``, the role ARN as resource, and
  the context a service's own request carries: ``aws:PrincipalServiceName`` the service,
  ``aws:PrincipalIsAWSService`` true, ``aws:SecureTransport`` true, ``aws:CurrentTime``,
  ``aws:EpochTime``, ``aws:RequestedRegion``, ``sts:RoleSessionName``. ``aws:SourceArn`` and
  ``aws:SourceAccount`` are known and absent (the caller does not say which function the
  session is for), so a trust policy that requires them refuses the session. A Deny wins,
  an Allow is needed; refused -> 403 with ``{"code": "AccessDenied", "message": "User:
  <service> is not authorized to perform: sts:AssumeRole on resource: <role> because …"}``
  (the wording of ``iam_policy.denial_message``).
* Admitted: a session made by moto's ``STSBackend.assume_role`` in the role's account,
  exactly as an ``AssumeRole`` call makes one (so ``iam_enforce`` finds it by its access key
  and enforces the role's policies), returned as ``{"access_key_id", "secret_access_key",
  "session_token", "expiration", "arn", "role_arn"}``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from .iam_policy import (
    Decision,
    Principal,
    UnsupportedPolicy,
    denial_message,
    evaluate_policy,
)

PARTITION = "aws"
SESSION_SECONDS = 3600


class ServiceSessionError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return "", "", "", arn
    return parts[2], parts[3], parts[4], parts[5]


def service_session(body: dict[str, Any]) -> dict[str, Any]:
    role_arn = str(body.get("role_arn") or "")
    service = str(body.get("service") or "")
    session_name = str(body.get("session_name") or service.split(".")[0] or "session")
    region = str(body.get("region") or "us-east-1")
    kind, _, account, resource = _arn_parts(role_arn)
    if kind != "iam" or not resource.startswith("role/") or not service:
        raise ServiceSessionError(400, "role_arn (an IAM role ARN) and service are required", "ValidationError")
    name = resource.rsplit("/", 1)[-1]
    try:
        role = iam_backends[account][PARTITION].get_role(name)
    except Exception as error:
        raise ServiceSessionError(
            400, f"The role with name {name} cannot be found.", "NoSuchEntity"
        ) from error
    principal = Principal(account, service=service)
    if role.arn != role_arn:
        raise ServiceSessionError(
            400, f"The role {role_arn} cannot be found (the role {name} is {role.arn}).", "NoSuchEntity"
        )
    now = datetime.now(timezone.utc)
    context = {
        "aws:principalservicename": [service],
        "aws:principalisawsservice": ["true"],
        "aws:securetransport": ["true"],
        "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": [str(int(now.timestamp()))],
        "aws:requestedregion": [region],
        "sts:rolesessionname": [session_name],
    }
    action = "sts:AssumeRole"
    try:
        result = evaluate_policy(
            role.assume_role_policy_document,
            "trust policy",
            principal=principal,
            action=action,
            resource=role.arn,
            context=context,
        )
    except UnsupportedPolicy as error:
        decision = Decision(False, str(error), "resource-based", unsupported=True)
        raise ServiceSessionError(403, denial_message(principal, action, role.arn, decision), "AccessDenied") from error
    if result.denied_by or not result.allowed_by:
        decision = Decision(False, "", "resource-based", explicit=bool(result.denied_by))
        raise ServiceSessionError(403, denial_message(principal, action, role.arn, decision), "AccessDenied")
    session = sts_backends[account][PARTITION].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role.arn,
        policy=None,
        duration=SESSION_SECONDS,
        external_id=None,
    )
    return {
        "access_key_id": session.access_key_id,
        "secret_access_key": session.secret_access_key,
        "session_token": session.session_token,
        "expiration": session.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "arn": session.arn,
        "role_arn": session.role_arn,
    }
