"""SNS topics delivering to SQS queues of other accounts, and subscriptions made by
another account.

AWS behaviour reproduced
------------------------
* Delivery to an ``sqs`` subscription goes to the queue named by the endpoint ARN, in
  that ARN's account (moto 5.2.5 delivered only to a queue of the topic's own account).
  The queue policy decides ("Sending Amazon SNS messages to an Amazon SQS queue in a
  different account", SNS Developer Guide, sns-send-message-to-sqs-cross-account; "Step 2:
  Give permission to the Amazon SNS topic to send messages to the Amazon SQS queue",
  subscribe-sqs-queue-to-sns-topic): the message is delivered when an ``Allow``
  statement matches and no ``Deny`` statement does. A queue without a policy receives
  nothing from a topic of another account.
* Subscribe by another account (e.g. a vault subscribing its own queue to a workload's
  topic ARN): the subscription belongs to the topic (its ARN is in the topic owner's
  account, its ``Owner`` is the subscriber) and is only allowed if the topic policy
  allows the caller ``sns:Subscribe``; otherwise ``AuthorizationError`` (HTTP 403,
  API_Subscribe errors). A subscription of an SQS queue made by the queue's owner needs
  no confirmation; one made by another account stays ``PendingConfirmation`` and
  receives nothing (the SubscriptionConfirmation message and ConfirmSubscription flow are
  not emulated). The subscriber can read/change its subscription's attributes
  (Get/SetSubscriptionAttributes) and Unsubscribe through the subscription ARN.
* A message that cannot be delivered (queue missing, or its policy does not allow the
  topic) goes to the subscription's ``RedrivePolicy`` ``deadLetterTargetArn`` queue if
  there is one, with the body that would have been delivered ("Amazon SNS dead-letter
  queues (DLQs)", sns-dead-letter-queues); otherwise it is dropped. The DLQ's own policy
  is evaluated the same way.
* The notification body is moto's normal SNS envelope (Type, MessageId, TopicArn,
  Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL,
  Subject and MessageAttributes when present), or the raw message with
  ``RawMessageDelivery`` (the string "false" is now read as false; moto treated any
  non-empty string as true).

Policies understood (queue policy for delivery, topic policy for Subscribe)
---------------------------------------------------------------------------
``Statement`` is a list or a single statement; ``Effect`` Allow/Deny; any explicit Deny
that matches wins.
* Principal: ``"*"``, ``{"AWS": "*"}``; for delivery ``{"Service": "sns.amazonaws.com"}``;
  for Subscribe ``{"AWS": <account id | arn:aws:iam::<account>:root | any IAM ARN in that
  account>}``. Strings or lists. ``NotPrincipal`` is not understood (statement ignored).
* Action: ``sqs:SendMessage`` / ``sns:Subscribe``, with ``*`` and ``?`` wildcards
  (``sqs:*``, ``*``), case-insensitive. ``NotAction`` is not understood.
* Resource: the queue/topic ARN, with wildcards (``*``), or absent.
* Condition: operators ``ArnEquals``, ``ArnLike``, ``StringEquals``,
  ``StringEqualsIgnoreCase``, ``StringLike`` (and their ``...IfExists`` forms are NOT
  understood); keys ``aws:SourceArn`` (the topic ARN), ``aws:SourceAccount`` and
  ``AWS:SourceOwner`` (delivery: the topic's account; Subscribe: the caller's account),
  ``aws:PrincipalAccount`` (Subscribe: the caller), ``sns:Protocol`` and ``sns:Endpoint``
  (Subscribe). A statement with any other operator or key does not match.

Not enforced / not emulated
---------------------------
* Same-account delivery to a queue **without** a policy still succeeds (moto's legacy
  behaviour; AWS requires the queue policy there too).
* IAM identity policies, KMS-encrypted queues (key policy for sns.amazonaws.com),
  delivery retries, and the DLQ's account/region rules are not checked.
* ListSubscriptions / ListSubscriptionsByTopic are moto's (per account of the stored
  subscription; a cross-account subscription is listed on the topic owner's side).
* Delivery to other protocols (lambda, http, ...) is moto's, in the topic's account.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend, Subscription, sns_backends
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import sqs_backends
from moto.utilities.arns import parse_arn


class AuthorizationError(SNSException):
    code = "AuthorizationError"  # HTTP 403 per the SNS service model


# --- minimal IAM policy evaluation ------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern
    )
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


_CONDITION_OPERATORS = {
    "stringequals": lambda pattern, value: pattern == value,
    "stringequalsignorecase": lambda pattern, value: pattern.lower() == value.lower(),
    "stringlike": lambda pattern, value: _wildcard(pattern, value),
    "arnequals": lambda pattern, value: pattern == value,
    "arnlike": lambda pattern, value: _wildcard(pattern, value),
}


def _conditions_hold(condition: Any, context: dict[str, str]) -> bool:
    """All operators/keys must be understood and satisfied (see module docstring)."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        compare = _CONDITION_OPERATORS.get(operator.lower())
        if compare is None or not isinstance(tests, dict):
            return False
        for key, patterns in tests.items():
            value = context.get(key.lower())
            if value is None:
                return False
            if not any(compare(str(p), value) for p in _as_list(patterns)):
                return False
    return True


def _statements(policy: Any) -> Iterable[dict[str, Any]]:
    if isinstance(policy, str):
        policy = json.loads(policy) if policy else {}
    return [s for s in _as_list((policy or {}).get("Statement")) if isinstance(s, dict)]


def _evaluate(
    policy: Any,
    principal_matches: Any,
    action: str,
    resource: str,
    context: dict[str, str],
) -> bool:
    """True if an Allow statement matches and no Deny statement does."""
    allowed = False
    for statement in _statements(policy):
        if "NotPrincipal" in statement or "NotAction" in statement:
            continue
        if not principal_matches(statement.get("Principal")):
            continue
        if not any(
            _wildcard(str(a), action, ignore_case=True) for a in _as_list(statement.get("Action"))
        ):
            continue
        resources = _as_list(statement.get("Resource"))
        if resources and not any(_wildcard(str(r), resource) for r in resources):
            continue
        if not _conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def _sns_service_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        if "*" in _as_list(principal.get("AWS")):
            return True
        return "sns.amazonaws.com" in _as_list(principal.get("Service"))
    return False


def _account_principal(account_id: str) -> Any:
    def matches(principal: Any) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        for entry in _as_list(principal.get("AWS")):
            entry = str(entry)
            if entry in ("*", account_id) or entry.startswith(f"arn:aws:iam::{account_id}:"):
                return True
        return False

    return matches


# --- Subscribe --------------------------------------------------------------------------


def _queue_account(endpoint: str) -> str | None:
    try:
        return parse_arn(endpoint).account
    except ValueError:
        return None


def _subscribe(original: Any) -> Any:
    @functools.wraps(original)
    def subscribe(self: SNSBackend, topic_arn: str, endpoint: str, protocol: str) -> Subscription:
        topic = self.get_topic(topic_arn)
        holder: SNSBackend = topic.sns_backend  # subscriptions are kept with the topic
        if holder.account_id != self.account_id:
            context = {
                "aws:sourceowner": self.account_id,
                "aws:sourceaccount": self.account_id,
                "aws:principalaccount": self.account_id,
                "sns:protocol": protocol,
                "sns:endpoint": endpoint,
            }
            if not _evaluate(
                topic._policy_json,
                _account_principal(self.account_id),
                "sns:Subscribe",
                topic.arn,
                context,
            ):
                raise AuthorizationError(
                    f"User: arn:aws:iam::{self.account_id}:root is not authorized to "
                    f"perform: SNS:Subscribe on resource: {topic.arn}"
                )
        existing = holder._find_subscription(topic_arn, endpoint, protocol)
        subscription = original(holder, topic_arn, endpoint, protocol)
        if existing is None:
            subscription.owner = self.account_id
            subscription.attributes["Owner"] = self.account_id
            if protocol == "sqs" and _queue_account(endpoint) != self.account_id:
                subscription.attributes["PendingConfirmation"] = True
                subscription.attributes["ConfirmationWasAuthenticated"] = False
        return subscription

    return subscribe


def _by_subscription_arn(original: Any) -> Any:
    """Run a backend method taking a subscription ARN on the backend that stores the
    subscription, when the caller owns a subscription kept with another account's topic."""

    @functools.wraps(original)
    def wrapper(self: SNSBackend, arn: str, *args: Any, **kwargs: Any) -> Any:
        if arn not in self.subscriptions:
            try:
                parsed = parse_arn(arn)
                holder = sns_backends[parsed.account][parsed.region]
            except (ValueError, KeyError):
                holder = None
            subscription = holder.subscriptions.get(arn) if holder else None
            if subscription is not None and subscription.owner == self.account_id:
                return original(holder, arn, *args, **kwargs)
        return original(self, arn, *args, **kwargs)

    return wrapper


# --- delivery ---------------------------------------------------------------------------


def _queue_accepts(queue: Any, queue_arn: str, topic: Any) -> bool:
    queue_account = parse_arn(queue_arn).account
    if not queue._policy_json.get("Statement"):
        return queue_account == topic.account_id  # moto's legacy same-account delivery
    context = {
        "aws:sourcearn": topic.arn,
        "aws:sourceaccount": topic.account_id,
        "aws:sourceowner": topic.account_id,
    }
    return _evaluate(
        queue._policy_json, _sns_service_principal, "sqs:SendMessage", queue_arn, context
    )


def _send(
    subscription: Subscription,
    queue_arn: str,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
    group_id: str | None,
    deduplication_id: str | None,
) -> bool:
    """Send to one queue as moto's Subscription.publish does; False if not delivered."""
    try:
        parsed = parse_arn(queue_arn)
        backend = sqs_backends[parsed.account][parsed.region]
        queue = backend.get_queue(parsed.resource_id)
    except (ValueError, KeyError, QueueDoesNotExist):
        return False
    if not _queue_accepts(queue, queue_arn, subscription.topic):
        return False

    if str(subscription.attributes.get("RawMessageDelivery")).lower() != "true":
        body = json.dumps(
            subscription.get_post_data(
                message, message_id, subject, message_attributes=message_attributes
            ),
            sort_keys=True,
            indent=2,
            separators=(",", ": "),
        )
        backend.send_message(
            queue.name,
            body,
            deduplication_id=deduplication_id,
            group_id=group_id,
            validate_group_id=False,
        )
        return True

    raw_attributes = {}
    for key, value in (message_attributes or {}).items():
        attr_type, type_value = "StringValue", value["Value"]
        if value["Type"].startswith("Binary"):
            attr_type = "BinaryValue"
        elif value["Type"].startswith("Number"):
            type_value = str(value["Value"])
        raw_attributes[key] = {"DataType": value["Type"], attr_type: type_value}
    backend.send_message(
        queue.name,
        message,
        message_attributes=raw_attributes,
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=False,
    )
    return True


def _dead_letter_target(subscription: Subscription) -> str | None:
    redrive = subscription.attributes.get("RedrivePolicy")
    if not redrive:
        return None
    try:
        return (json.loads(redrive) if isinstance(redrive, str) else redrive).get(
            "deadLetterTargetArn"
        )
    except (ValueError, AttributeError):
        return None


def _publish(original: Any) -> Any:
    @functools.wraps(original)
    def publish(
        self: Subscription,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if self.protocol != "sqs":
            return original(
                self,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
        # The same pre-processing as moto's Subscription.publish.
        if self._filter_policy_matcher is not None:
            if not self._filter_policy_matcher.matches(message_attributes, message):
                return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        if str(self.attributes.get("PendingConfirmation")).lower() == "true":
            return None
        args = (message, message_id, subject, message_attributes, group_id, deduplication_id)
        if not _send(self, self.endpoint, *args):
            dead_letter = _dead_letter_target(self)
            if dead_letter:
                _send(self, dead_letter, *args)
        return None

    return publish


def apply() -> None:
    SNSBackend.subscribe = _subscribe(SNSBackend.subscribe)  # type: ignore[method-assign]
    for name in ("get_subscription_attributes", "set_subscription_attributes", "unsubscribe"):
        setattr(SNSBackend, name, _by_subscription_arn(getattr(SNSBackend, name)))
    Subscription.publish = _publish(Subscription.publish)  # type: ignore[method-assign]
