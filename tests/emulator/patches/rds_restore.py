"""Restoring RDS DB instances and Aurora DB clusters from snapshots, creating the cluster's
instances, and deleting them again, as a scheduled restore test does it: timed statuses,
overrides honoured as given (``False`` included), the snapshot's encryption, AWS's deletion
rules, and the master password managed in Secrets Manager. With ``--postgres-bin`` the
restored PostgreSQL databases are real servers (``rds_postgres``), with ``--mysql-bin`` the
restored MySQL, MariaDB and Aurora MySQL ones (``rds_mysql``, MariaDB).

moto 5.2.5 made restored resources ``available`` at once, dropped every override that is
``False`` (``if value:``), so ``DeletionProtection=False`` kept the source's protection and a
later delete failed, copied the source's ``DeletionProtection``, ``MultiAZ`` and
``CopyTagsToSnapshot`` where AWS defaults to false, deleted at once, refused to delete a
cluster whose instances were already ``deleting``, required no final-snapshot choice, and put
``{"username": "admin", "password": "P@55w0rd!"}`` into every managed master secret.

References: RDS API Reference API_RestoreDBInstanceFromDBSnapshot,
API_RestoreDBClusterFromSnapshot, API_CreateDBInstance, API_DeleteDBInstance,
API_DeleteDBCluster, API_ModifyDBInstance, API_ModifyDBCluster, API_DBInstance,
API_DBCluster, API_MasterUserSecret (and each operation's errors in the service model,
botocore ``rds/2014-10-31/service-2.json``); RDS User Guide "Deleting a DB instance"
(USER_DeleteInstance), "Viewing Amazon RDS DB instance status", "Password management with
Amazon RDS and AWS Secrets Manager" (rds-secrets-manager).

AWS behaviour reproduced
------------------------
Timing (the copy delay, ``--copy-delay`` / ``copy_delay_seconds``, read when the request is
made; computed when read, like ``rds_snapshot_lifecycle``):

* RestoreDBInstanceFromDBSnapshot and RestoreDBClusterFromSnapshot return the new resource
  ``creating``; it is ``available`` once the copy delay has passed (and, with
  ``--postgres-bin`` / ``--mysql-bin``, once its database server accepts connections: an
  instance is available when it can be used). CreateDBInstance with ``DBClusterIdentifier``
  likewise (the instance of a restored Aurora PostgreSQL or Aurora MySQL cluster waits for the
  cluster's server). Delay 0: available at once, as moto had it (a server-backed instance is
  ``creating`` until its server is ready). While ``creating`` a DB instance has no ``Endpoint`` (API_DBInstance: "The
  endpoint might not be shown for instances with the status of creating").
* "You can create DB instances only after the RestoreDBClusterFromSnapshot operation has
  completed and the DB cluster is available" (API_RestoreDBClusterFromSnapshot):
  CreateDBInstance into a cluster that is ``creating`` or ``deleting`` ->
  ``InvalidDBClusterStateFault`` (an error of CreateDBInstance in the service model).
* The first instance created in a cluster is its writer (``DBClusterMembers``,
  ``IsClusterWriter``); moto already did this.
* DeleteDBInstance / DeleteDBCluster answer ``deleting``; the resource stays listed as
  ``deleting`` for the copy delay, then is gone (``DBInstanceNotFound`` /
  ``DBClusterNotFoundFault``). Delay 0: gone at once, as moto had it.
* ModifyDBInstance / ModifyDBCluster / CreateDBSnapshot of a resource that is ``creating`` or
  ``deleting`` -> ``InvalidDBInstanceState`` / ``InvalidDBClusterStateFault`` (errors of those
  operations; CreateDBSnapshot: "The source DB instance must be in the available or
  storage-optimization state"). Only resources this module times are checked.

Overrides and defaults (RestoreDBInstanceFromDBSnapshot, RestoreDBClusterFromSnapshot):

* Every parameter is honoured as given, ``False`` included (moto dropped falsy values):
  ``DeletionProtection``, ``PubliclyAccessible``, ``CopyTagsToSnapshot``, ``MultiAZ``,
  ``AutoMinorVersionUpgrade``, ``EnableIAMDatabaseAuthentication``. ``DBInstanceClass``,
  ``DBSubnetGroupName``, ``VpcSecurityGroupIds``, ``Tags``, ``Port`` as given (moto did).
* Defaults when omitted: ``DeletionProtection`` false ("By default, deletion protection isn't
  enabled"), ``CopyTagsToSnapshot`` false, ``MultiAZ`` false ("By default, the new DB instance
  is created as a Single-AZ deployment"); ``DBInstanceClass`` the original's ("Default: The
  same DBInstanceClass as the original DB instance", moto did); ``Tags``: the snapshot's
  source instance's tags ("If there are no new tags, RDS looks for the tags from the source DB
  instance for the DB snapshot", moto did); ``VpcSecurityGroupIds``: the default VPC's default
  security group (moto did); ``PubliclyAccessible`` (instances) as CreateDBInstance documents:
  true without ``DBSubnetGroupName`` or with ``default``, false with another subnet group;
  ``Port`` of a cluster: the original cluster's ("Default: The same port as the original DB
  cluster"). An instance created in a cluster without ``PubliclyAccessible``: false, true
  only with ``DBSubnetGroupName`` ``default`` (CreateDBInstance: "If DBSubnetGroup isn't
  specified, PubliclyAccessible defaults to false for Aurora instances").
* ``ManageMasterUserPassword`` on RestoreDBInstanceFromDBSnapshot "Applies to RDS for Oracle
  only" -> refused for other engines with ``InvalidParameterCombination`` (*chosen* code).
  RestoreDBClusterFromSnapshot has no such parameter.

Encryption, engine, storage:

* A DB instance restored from an encrypted DB snapshot is encrypted with the snapshot's key
  (``StorageEncrypted`` true, ``KmsKeyId`` the snapshot's key ARN; the operation has no
  ``KmsKeyId``); from an unencrypted one, unencrypted. ``Engine``, ``EngineVersion`` and
  ``AllocatedStorage`` are the snapshot's (a smaller ``AllocatedStorage`` is refused). moto
  did all of this.
* RestoreDBClusterFromSnapshot ``KmsKeyId``: given -> the restored cluster is encrypted with
  it (key id, ARN, alias; must exist in the Region -> else ``KMSKeyNotAccessibleFault``); not
  given -> encrypted with the snapshot's key if the snapshot is encrypted, else not encrypted
  (no ``KmsKeyId`` in the answer; moto reported ``default_kms_key_id``).
* The key the restore uses (the snapshot's or the given one) must be ``Enabled`` ->
  ``KMSKeyNotAccessibleFault`` (an error of both operations). Whether the *caller* may use the
  key is not checked here (see "Not enforced").
* ``EngineVersion`` of a restored cluster when not given: the snapshot's (*chosen*: the API
  reference says "the default version for the database engine in the Amazon Web Services
  Region", which would be an upgrade; moto keeps the snapshot's, and so does the emulator).

Deletion:

* ``DeletionProtection`` true -> ``InvalidParameterCombination`` "Cannot delete protected DB
  Instance, please disable deletion protection and try again." (moto's message; clusters
  likewise).
* ``SkipFinalSnapshot`` false without ``FinalDBSnapshotIdentifier`` -> ``InvalidParameterCombination``
  ("If you don't enable this parameter, you must specify the FinalDBSnapshotIdentifier
  parameter"); both given -> ``InvalidParameterCombination`` ("If you enable this parameter
  and also enable SkipFinalShapshot, the command results in an error"; *chosen* code for both).
  An Aurora cluster's instance needs neither (its snapshots are the cluster's).
* A DB instance that is ``creating`` can be deleted with ``SkipFinalSnapshot``; a final
  snapshot of it is refused, ``InvalidDBInstanceState`` ("You can't create a final DB snapshot
  of your DB instance if it has the status creating, failed, incompatible-restore, or
  incompatible-network", USER_DeleteInstance). Deleting what is already ``deleting`` ->
  ``InvalidDBInstanceState`` / ``InvalidDBClusterStateFault`` (*chosen*).
* DeleteDBCluster while the cluster has instances that are not ``deleting`` ->
  ``InvalidDBClusterStateFault`` "Cluster cannot be deleted, it still contains DB instances in
  non-deleting state." (moto's message; moto also refused while they were ``deleting``).
* Manual snapshots stay; automated ones go (moto did); with ``SkipFinalSnapshot`` no final
  snapshot is made.

Master user password in Secrets Manager (ModifyDBInstance, ModifyDBCluster):

* ``ManageMasterUserPassword=True``: RDS generates the password, sets it in the database and
  stores it in a Secrets Manager secret of the same account and Region named
  ``rds!db-<uuid>`` / ``rds!cluster-<uuid>`` whose ``SecretString`` is ``{"username":
  <master username>, "password": <password>}``, encrypted with ``MasterUserSecretKmsKeyId`` or
  else ``aws/secretsmanager``; describe shows ``MasterUserSecret`` {``SecretArn``,
  ``SecretStatus`` (``creating``, then ``active``), ``KmsKeyId``}. moto had the name, tags
  (``aws:rds:primaryDBInstanceArn`` / ``aws:rds:primaryDBClusterArn``,
  ``aws:secretsmanager:owningService`` ``rds``) and key; the emulator fixes the content: the
  master username and a generated password (*chosen*: 32 characters of letters, digits and
  ``!#$%&()*+,-.:;<=>?[]^_{|}~``, never ``/ " @`` nor space, which MasterUserPassword forbids).
* With ``MasterUserPassword`` in the same request -> ``InvalidParameterCombination`` ("Can't
  manage the master user password with AWS Secrets Manager if MasterUserPassword is
  specified"), and so is ``MasterUserPassword`` alone while the password is managed
  (MasterUserPassword: "Can't be specified if ManageMasterUserPassword is turned on");
  turning management off requires ``MasterUserPassword`` ("then you must specify
  MasterUserPassword") -> else ``InvalidParameterCombination``; the secret is deleted and the
  given password used. ``ManageMasterUserPassword=True`` when already managed changes nothing
  (*chosen*: moto made a second secret). On an Aurora cluster's instance, password settings ->
  ``InvalidParameterCombination`` ("The password for the master user is managed by the DB
  cluster", *chosen* code).
* ``RotateMasterUserPassword`` (with ``ApplyImmediately``, moto checks that): a new password
  becomes the secret's ``AWSCURRENT`` version and the database's password; ``SecretStatus``
  ``rotating`` then ``active``.
* Deleting the DB instance or cluster deletes its secret ("If you delete a DB instance that
  manages a secret in Secrets Manager, the secret and its associated metadata are also
  deleted"; moto did, at once, without a recovery window).

Not enforced / not emulated
---------------------------
* KMS permissions of the caller on the key a restore uses: the RDS User Guide
  ("Overview.Encryption.Keys", "Authorizing use of a customer managed key") says RDS uses a
  customer managed key on behalf of the user creating the resource, who needs the key's
  permissions; ``iam_enforce`` checks key use only for snapshot copies and exports, not for
  restores (nor ``secretsmanager:CreateSecret`` / ``kms:*`` for managed master passwords).
* Subnet groups' VPCs and Availability Zones, security group rules, ``PubliclyAccessible``
  network effects, option and parameter groups, RDS events, ``modifying`` /
  ``resetting-master-credentials`` statuses, pending modifications, read replicas, Multi-AZ
  DB clusters, point-in-time restores (moto's behaviour is kept for all of these).
* Restoring from a shared snapshot by ARN (moto looks snapshots up in the caller's account).
* A restore of a snapshot whose source managed its master password in Secrets Manager gets a
  secret and password of its own (moto's behaviour, kept: AWS documents nothing here).
"""

from __future__ import annotations

import copy
import functools
import json
import secrets
import string
import threading
import time
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import (
    DBClusterToBeDeletedHasActiveMembers,
    InvalidDBClusterStateFault,
    InvalidDBInstanceStateFault,
    InvalidParameterCombination,
    KMSKeyNotAccessibleFault,
    RDSClientError,
)
from moto.rds.models import (
    DBCluster,
    DBInstance,
    DBInstanceClustered,
    MasterUserSecret,
    RDSBackend,
)
from moto.rds.responses import RDSResponse
from moto.rds.utils import split_arn

from . import rds_content, rds_cross_account, rds_mysql, rds_postgres
from .state import CONFIG, on_reset

PHASE = "_offsite_phase"
RESTORED = "_offsite_restored"
# Booleans moto drops when they are False: (request parameter, model attribute).
INSTANCE_BOOLEANS = (
    ("deletion_protection", "deletion_protection"),
    ("publicly_accessible", "publicly_accessible"),
    ("copy_tags_to_snapshot", "copy_tags_to_snapshot"),
    ("multi_az", "multi_az"),
    ("auto_minor_version_upgrade", "auto_minor_version_upgrade"),
    ("enable_iam_database_authentication", "enable_iam_database_authentication"),
)
CLUSTER_BOOLEANS = (
    ("deletion_protection", "deletion_protection"),
    ("copy_tags_to_snapshot", "copy_tags_to_snapshot"),
    ("publicly_accessible", "publicly_accessible"),
    ("enable_iam_database_authentication", "iam_auth"),
)
PASSWORD_PUNCTUATION = "!#$%&()*+,-.:;<=>?[]^_{|}~"


class InvalidDBInstanceState(RDSClientError):
    """``InvalidDBInstanceState`` (the service model's code for InvalidDBInstanceStateFault)."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidDBInstanceState", message)


# --- timed statuses ------------------------------------------------------------------------------


def _start_phase(model: Any, status: str) -> None:
    model.__dict__[PHASE] = {"status": status, "until": time.monotonic() + float(CONFIG.copy_delay_seconds)}


def _server_owner(model: Any) -> Any:
    """The model whose database server serves ``model`` (a cluster's instance: the cluster)."""
    if isinstance(model, DBInstanceClustered):
        return model.__dict__.get("cluster")
    return model


def _servers(owner: Any) -> Any:
    """The servers (``db_servers.Family``) of ``owner``'s engine (``rds_postgres``'s,
    ``rds_mysql``'s), else None."""
    family = rds_content.engine_family(getattr(owner, "engine", None)) if owner is not None else None
    module = {rds_content.POSTGRES: rds_postgres, rds_content.MYSQL: rds_mysql}.get(family)  # type: ignore[arg-type]
    return module.FAMILY if module is not None else None


def _gate(owner: Any) -> str | None:
    servers = _servers(owner)
    return servers.gate(owner) if servers is not None else None


def _served(owner: Any) -> tuple[str, int] | None:
    """(address, port) of ``owner``'s ready server, else None."""
    servers = _servers(owner)
    return servers.endpoint(owner) if servers is not None else None


def _stop_server(owner: Any) -> None:
    servers = _servers(owner)
    if servers is not None:
        servers.stop(owner)


def _password_changed(owner: Any) -> None:
    servers = _servers(owner)
    if servers is not None:
        servers.password_changed(owner)


def timed_status(model: Any) -> str | None:
    """The status of a resource this module times (None when it is not in a timed phase)."""
    phase = model.__dict__.get(PHASE)
    if not phase:
        return None
    if phase["status"] == "deleting":
        return "deleting"
    if time.monotonic() < phase["until"]:
        return "creating"
    if not isinstance(model, DBCluster):
        gate = _gate(_server_owner(model))
        if gate == "starting":
            return "creating"
        if gate == "failed":
            return "failed"
    model.__dict__.pop(PHASE, None)
    return None


def _instance_status_get(self: DBInstance) -> str:
    return timed_status(self) or self.__dict__.get("_offsite_status", "available")


def _instance_status_set(self: DBInstance, value: str) -> None:
    self.__dict__["_offsite_status"] = value


_CLUSTER_STATUS = DBCluster.status


def _cluster_status_get(self: DBCluster) -> str:
    return timed_status(self) or _CLUSTER_STATUS.fget(self)  # type: ignore[attr-defined]


def _cluster_status_set(self: DBCluster, value: str) -> None:
    _CLUSTER_STATUS.fset(self, value)  # type: ignore[attr-defined]


def _in_phase(model: Any) -> str | None:
    """``creating``/``deleting``/``failed`` while timed, else None."""
    return timed_status(model) if model.__dict__.get(PHASE) else None


# --- endpoints ----------------------------------------------------------------------------------------


_INSTANCE_ENDPOINT = DBInstance.endpoint
_CLUSTER_ENDPOINT = DBCluster.endpoint
_CLUSTER_READER_ENDPOINT = DBCluster.reader_endpoint


def _instance_endpoint(self: DBInstance) -> dict[str, Any] | None:
    if _in_phase(self) == "creating":
        return None
    served = _served(_server_owner(self))
    if served is not None:
        return {"Address": served[0], "Port": served[1]}
    return _INSTANCE_ENDPOINT.fget(self)  # type: ignore[attr-defined]


def _cluster_endpoint(self: DBCluster) -> str:
    served = _served(self)
    return served[0] if served else _CLUSTER_ENDPOINT.fget(self)  # type: ignore[attr-defined]


def _cluster_reader_endpoint(self: DBCluster) -> str:
    served = _served(self)
    return served[0] if served else _CLUSTER_READER_ENDPOINT.fget(self)  # type: ignore[attr-defined]


def _cluster_port_get(self: DBCluster) -> int | None:
    served = _served(self)
    return served[1] if served else self.__dict__.get("_offsite_port")


def _cluster_port_set(self: DBCluster, value: int | None) -> None:
    self.__dict__["_offsite_port"] = value


# --- purging what has finished deleting -------------------------------------------------------------

_purge_lock = threading.Lock()
# (account, region) of the backends holding resources in a timed ``deleting`` phase: only
# those are scanned (every RDS request calls purge).
_deleting: set[tuple[str, str]] = set()


def _start_deleting(backend: RDSBackend, model: Any) -> None:
    _start_phase(model, "deleting")
    with _purge_lock:
        _deleting.add((backend.account_id, backend.region_name))


def purge(backend: RDSBackend) -> None:
    """Forget DB instances and clusters whose ``deleting`` phase is over."""
    where = (backend.account_id, backend.region_name)
    if where not in _deleting:
        return
    now = time.monotonic()
    with _purge_lock:
        left = False
        for store in (backend.databases, backend.clusters):
            for identifier, model in list(store.items()):
                phase = model.__dict__.get(PHASE)
                if not phase or phase["status"] != "deleting":
                    continue
                if now >= phase["until"]:
                    if store.get(identifier) is model:
                        store.pop(identifier, None)
                else:
                    left = True
        if not left:
            _deleting.discard(where)


@on_reset
def _forget_deleting() -> None:
    with _purge_lock:
        _deleting.clear()


_BACKEND = RDSResponse.backend
_GLOBAL_BACKEND = RDSResponse.global_backend


def _purged_backend(self: RDSResponse) -> RDSBackend:
    backend = _BACKEND.fget(self)  # type: ignore[attr-defined]
    purge(backend)
    return backend


def _purged_global_backend(self: RDSResponse) -> RDSBackend:
    backend = _GLOBAL_BACKEND.fget(self)  # type: ignore[attr-defined]
    purge(backend)
    return backend


# --- passwords and the managed secret ------------------------------------------------------------------


def generate_password(length: int = 32) -> str:
    """A master password as RDS might generate it (*chosen* alphabet, see the docstring)."""
    alphabet = string.ascii_letters + string.digits + PASSWORD_PUNCTUATION
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.islower() for c in password) and any(c.isupper() for c in password)
                and any(c.isdigit() for c in password) and any(c in PASSWORD_PUNCTUATION for c in password)):
            return password


def master_password(model: Any) -> str | None:
    """The password the master user of a DB instance or cluster has now."""
    owner = _server_owner(model)
    if owner is None:
        return None
    secret = owner.__dict__.get("master_user_secret")
    if secret is not None and owner.__dict__.get("manage_master_user_password"):
        fake = secret.secret
        # The AWSCURRENT version (moto keeps the first value in ``secret_string``).
        current = fake.versions.get(fake.default_version_id) or {}
        try:
            return str(json.loads(current.get("secret_string") or fake.secret_string)["password"])
        except (ValueError, KeyError, TypeError):
            return None
    return owner.__dict__.get("_master_user_password")


def _master_username(self: MasterUserSecret) -> str:
    return str(self.resource.master_username or "")


def _generate_secret_string(self: MasterUserSecret) -> str:
    return json.dumps({"username": _master_username(self), "password": generate_password()})


def _rotate_secret(self: MasterUserSecret) -> None:
    self._status = "rotating"
    self.secretsmanager.put_secret_value(
        secret_id=self.secret.arn,
        secret_string=json.dumps({"username": _master_username(self), "password": generate_password()}),
        secret_binary=None,  # type: ignore[arg-type]
        client_request_token=None,  # type: ignore[arg-type]
        version_stages=["AWSCURRENT"],
    )


# --- restore --------------------------------------------------------------------------------------------


def _snapshot_name(reference: str) -> str:
    return split_arn(reference)[3] if reference.startswith("arn:") else reference


def _require_enabled_key(key_id: str | None, account: str, region: str) -> None:
    """The key a restore uses must be Enabled (KMSKeyNotAccessibleFault). Only the key's
    state: the caller's permissions are not checked (see the docstring)."""
    if not key_id:
        return
    state = rds_cross_account._kms_key_state(key_id, account, region)
    if state is not None and state != "Enabled":
        raise KMSKeyNotAccessibleFault(key_id)


def _key_arn(backend: RDSBackend, key_id: str) -> str:
    """The ARN of a KMS key given by id, ARN, alias name or alias ARN; a key that does not
    exist, or lies in another Region -> KMSKeyNotAccessibleFault."""
    try:
        return backend._validate_kms_key(key_id)
    except RDSClientError:
        raise
    except Exception:  # moto's KMS fails on unknown aliases with AttributeError
        raise KMSKeyNotAccessibleFault(key_id) from None


def _given(overrides: Any, name: str) -> Any:
    try:
        return overrides.get(name)
    except AttributeError:
        return None


def _apply_booleans(model: Any, overrides: Any, pairs: tuple[tuple[str, str], ...]) -> None:
    for parameter, attribute in pairs:
        value = _given(overrides, parameter)
        if value is not None:
            setattr(model, attribute, bool(value))


# The engines whose restored resources get a real server (with --postgres-bin / --mysql-bin).
SERVED_INSTANCE_ENGINES = ("postgres", "mysql", "mariadb")
SERVED_CLUSTER_ENGINES = ("aurora-postgresql", "aurora-mysql", "aurora")


def _start_server(owner: Any, kind: str) -> None:
    engine = str(owner.engine)
    common: dict[str, Any] = {
        "account": owner.account_id,
        "region": owner.region,
        "identifier": owner.db_cluster_identifier if kind == "cluster" else owner.db_instance_identifier,
        "master_username": str(owner.master_username or ""),
        "password_source": lambda: master_password(owner),
        "content": copy.deepcopy(rds_content.content_of(owner)),
    }
    if rds_content.engine_family(engine) == rds_content.MYSQL:
        secure = rds_mysql.requires_secure_transport(engine, owner.engine_version)
        rds_mysql.start(owner, kind, **common, require_secure_transport=secure)
        return
    major = str(owner.engine_version or "0").split(".")[0]
    force_ssl = engine == "postgres" and major.isdigit() and int(major) >= 15
    rds_postgres.start(owner, kind, **common, force_ssl=force_ssl)


def _restore_instance(original: Any) -> Any:
    @functools.wraps(original)
    def restore(self: RDSBackend, from_snapshot_id: str, overrides: Any) -> DBInstance:
        snapshot = self.describe_db_snapshots(None, _snapshot_name(from_snapshot_id))[0]
        engine = str(_given(overrides, "engine") or snapshot.engine)
        if _given(overrides, "manage_master_user_password") and not engine.startswith("oracle"):
            raise InvalidParameterCombination(
                "ManageMasterUserPassword applies to RDS for Oracle only when restoring from a DB snapshot."
            )
        if snapshot.encrypted:
            _require_enabled_key(snapshot.kms_key_id, self.account_id, self.region_name)
        instance = original(self, from_snapshot_id, overrides)
        _apply_booleans(instance, overrides, INSTANCE_BOOLEANS)
        for parameter, attribute in (("deletion_protection", "deletion_protection"),
                                     ("copy_tags_to_snapshot", "copy_tags_to_snapshot"),
                                     ("multi_az", "multi_az")):
            if _given(overrides, parameter) is None:
                setattr(instance, attribute, False)
        if _given(overrides, "publicly_accessible") is None:
            subnet_group = _given(overrides, "db_subnet_group_name")
            instance.publicly_accessible = subnet_group is None or subnet_group == "default"
        instance.__dict__[RESTORED] = True
        _start_phase(instance, "creating")
        if engine in SERVED_INSTANCE_ENGINES:
            _start_server(instance, "instance")
        return instance

    return restore


def _restore_cluster(original: Any) -> Any:
    @functools.wraps(original)
    def restore(self: RDSBackend, from_snapshot_id: str, overrides: Any) -> DBCluster:
        snapshot = self.describe_db_cluster_snapshots(None, _snapshot_name(from_snapshot_id))[0]
        key = _given(overrides, "kms_key_id")
        if key:
            key = _key_arn(self, str(key))
            _require_enabled_key(key, self.account_id, self.region_name)
        elif snapshot.storage_encrypted:
            _require_enabled_key(snapshot.kms_key_id, self.account_id, self.region_name)
        cluster = original(self, from_snapshot_id, overrides)
        if key:
            cluster.kms_key_id, cluster.storage_encrypted = key, True
        elif snapshot.storage_encrypted:
            cluster.kms_key_id, cluster.storage_encrypted = snapshot.kms_key_id, True
        else:
            cluster.kms_key_id, cluster.storage_encrypted = None, False
        _apply_booleans(cluster, overrides, CLUSTER_BOOLEANS)
        for parameter in ("deletion_protection", "copy_tags_to_snapshot"):
            if _given(overrides, parameter) is None:
                setattr(cluster, parameter, False)
        if not _given(overrides, "port"):
            cluster.port = snapshot.port
        if not _given(overrides, "engine_version"):
            cluster.engine_version = snapshot.engine_version
        cluster.__dict__[RESTORED] = True
        # Settled as available (moto reports "creating" once, then "available").
        cluster.status = "available"
        _start_phase(cluster, "creating")
        return cluster

    return restore


def _create_instance(original: Any) -> Any:
    @functools.wraps(original)
    def create(self: RDSBackend, db_kwargs: Any) -> DBInstance:
        cluster_id = _given(db_kwargs, "db_cluster_identifier")
        cluster = self.clusters.get(cluster_id) if cluster_id else None
        if cluster is not None:
            status = _in_phase(cluster)
            if status is not None:
                raise InvalidDBClusterStateFault(
                    f"DB cluster {cluster.db_cluster_identifier} is not available (its status is "
                    f"{status}): DB instances can be created in it once it is available."
                )
        instance = original(self, db_kwargs)
        if cluster_id:
            if _given(db_kwargs, "publicly_accessible") is None:
                instance.publicly_accessible = _given(db_kwargs, "db_subnet_group_name") == "default"
            _start_phase(instance, "creating")
            owner = instance.__dict__.get("cluster")
            if owner is not None and owner.__dict__.get(RESTORED) and owner.engine in SERVED_CLUSTER_ENGINES:
                _start_server(owner, "cluster")
        return instance

    return create


# --- delete -----------------------------------------------------------------------------------------------


def _final_snapshot_choice(skip: Any, final: Any) -> None:
    if skip and final:
        raise InvalidParameterCombination(
            "FinalDBSnapshotIdentifier can't be specified when SkipFinalSnapshot is enabled."
        )
    if not skip and not final:
        raise InvalidParameterCombination(
            "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified."
        )


def _delete_instance(original: Any) -> Any:
    @functools.wraps(original)
    def delete(
        self: RDSBackend,
        db_instance_identifier: str,
        final_db_snapshot_identifier: str | None = None,
        skip_final_snapshot: bool | None = False,
        delete_automated_backups: bool | None = True,
        **kwargs: Any,
    ) -> DBInstance:
        instance = self.databases.get(db_instance_identifier)
        if instance is None:
            return original(self, db_instance_identifier, final_db_snapshot_identifier,
                            skip_final_snapshot, delete_automated_backups)
        status = instance.status
        if status == "deleting":
            raise InvalidDBInstanceState(f"Instance {db_instance_identifier} is already being deleted.")
        if not isinstance(instance, DBInstanceClustered):
            _final_snapshot_choice(skip_final_snapshot, final_db_snapshot_identifier)
        if final_db_snapshot_identifier and not skip_final_snapshot and status in (
            "creating", "failed", "incompatible-restore", "incompatible-network"
        ):
            raise InvalidDBInstanceState(
                f"Instance {db_instance_identifier} is {status}: a final DB snapshot can't be created of it."
            )
        deleted = original(self, db_instance_identifier, final_db_snapshot_identifier,
                           skip_final_snapshot, delete_automated_backups)
        # Deleting first, then the server's stop: a listing in between never shows an
        # available instance whose server is going (RDS keeps the endpoint while deleting).
        if CONFIG.copy_delay_seconds > 0:
            self.databases[instance.db_instance_identifier] = instance
            _start_deleting(self, instance)
        if not isinstance(instance, DBInstanceClustered):
            _stop_server(instance)
        return deleted

    return delete


def _delete_cluster(original: Any) -> Any:
    @functools.wraps(original)
    def delete(
        self: RDSBackend,
        cluster_identifier: str,
        snapshot_name: str | None = None,
        delete_automated_backups: bool | None = True,
    ) -> DBCluster:
        cluster = self.clusters.get(cluster_identifier)
        if cluster is None:
            return original(self, cluster_identifier, snapshot_name)
        if cluster.status == "deleting":
            raise InvalidDBClusterStateFault(f"DB cluster {cluster_identifier} is already being deleted.")
        if cluster.deletion_protection:
            raise InvalidParameterCombination(
                "Cannot delete protected Cluster, please disable deletion protection and try again."
            )
        members = cluster._members
        if any(m.status != "deleting" for m in members):
            raise DBClusterToBeDeletedHasActiveMembers()
        if snapshot_name and cluster.status in ("creating", "failed"):
            raise InvalidDBClusterStateFault(
                f"DB cluster {cluster_identifier} is {cluster.status}: a final DB cluster snapshot "
                "can't be created of it."
            )
        # moto refuses while any instance is listed; those left are deleting: set them aside.
        for member in members:
            self.databases.pop(member.db_instance_identifier, None)
        try:
            deleted = original(self, cluster_identifier, snapshot_name)
        finally:
            for member in members:
                self.databases.setdefault(member.db_instance_identifier, member)
        if delete_automated_backups is not False:
            # "When you delete a DB cluster, all automated backups for that DB cluster are
            # deleted" (moto kept them).
            for snapshot in list(self.cluster_snapshots.values()):
                if (snapshot.snapshot_type == "automated"
                        and snapshot.db_cluster_identifier == cluster.db_cluster_identifier):
                    self.cluster_snapshots.pop(snapshot.db_cluster_snapshot_identifier, None)
        cluster.status = "deleting"
        if CONFIG.copy_delay_seconds > 0:
            self.clusters[cluster.db_cluster_identifier] = cluster
            _start_deleting(self, cluster)
        _stop_server(cluster)  # after the status, as for an instance
        return deleted

    return delete


def _delete_cluster_response(original: Any) -> Any:
    """moto's handler passed neither SkipFinalSnapshot nor DeleteAutomatedBackups on."""

    @functools.wraps(original)
    def delete_db_cluster(self: RDSResponse) -> Any:
        final = self.params.get("FinalDBSnapshotIdentifier")
        _final_snapshot_choice(self.params.get("SkipFinalSnapshot"), final)
        cluster = self.backend.delete_db_cluster(
            cluster_identifier=self.params.get("DBClusterIdentifier"),
            snapshot_name=final,
            delete_automated_backups=self.params.get("DeleteAutomatedBackups"),
        )
        return ActionResult({"DBCluster": cluster})

    return delete_db_cluster


# --- modify -------------------------------------------------------------------------------------------------


def _password_settings(model: Any, kwargs: Any, kind: str) -> None:
    """AWS's rules for ManageMasterUserPassword / MasterUserPassword (see the docstring);
    removes a request to manage what is already managed (or to stop managing what is not)."""
    manage = _given(kwargs, "manage_master_user_password")
    password = _given(kwargs, "master_user_password")
    managed = bool(model.__dict__.get("manage_master_user_password")) and (
        "master_user_secret" in model.__dict__
    )
    if manage is True and password:
        raise InvalidParameterCombination(
            "You can't specify MasterUserPassword when ManageMasterUserPassword is enabled."
        )
    if password and managed and manage is not False:
        raise InvalidParameterCombination(
            "You can't specify MasterUserPassword while the master user password is managed in "
            "Secrets Manager."
        )
    if manage is False and managed and not password:
        raise InvalidParameterCombination(
            "You must specify MasterUserPassword when you turn off ManageMasterUserPassword."
        )
    if manage is not None and bool(manage) == managed:
        del kwargs["manage_master_user_password"]
        kwargs.pop("master_user_secret_kms_key_id", None)
    if _given(kwargs, "rotate_master_user_password") and not managed:
        raise InvalidParameterCombination(
            f"RotateMasterUserPassword is valid only if the master user password of the DB {kind} "
            "is managed in Secrets Manager."
        )


def _modify_instance(original: Any) -> Any:
    @functools.wraps(original)
    def modify(self: RDSBackend, db_instance_identifier: str, db_kwargs: Any) -> DBInstance:
        instance = self.describe_db_instances(db_instance_identifier)[0]
        status = _in_phase(instance)
        if status is not None:
            raise InvalidDBInstanceState(
                f"Database instance {db_instance_identifier} is not in available state (its status is {status})."
            )
        password_settings = ("manage_master_user_password", "master_user_password", "rotate_master_user_password")
        if isinstance(instance, DBInstanceClustered):
            if any(_given(db_kwargs, p) is not None for p in password_settings):
                raise InvalidParameterCombination(
                    "The password for the master user is managed by the DB cluster: modify the DB cluster."
                )
        else:
            _password_settings(instance, db_kwargs, "instance")
        changes = any(_given(db_kwargs, p) is not None for p in password_settings)
        result = original(self, db_instance_identifier, db_kwargs)
        if changes:
            _password_changed(instance)
        return result

    return modify


def _modify_cluster(original: Any) -> Any:
    @functools.wraps(original)
    def modify(self: RDSBackend, kwargs: Any) -> DBCluster:
        cluster = self.describe_db_clusters(_given(kwargs, "db_cluster_identifier"))[0]
        status = _in_phase(cluster)
        if status is not None:
            raise InvalidDBClusterStateFault(
                f"DB cluster {cluster.db_cluster_identifier} is not available (its status is {status})."
            )
        _password_settings(cluster, kwargs, "cluster")
        changes = any(
            _given(kwargs, p) is not None
            for p in ("manage_master_user_password", "master_user_password", "rotate_master_user_password")
        )
        result = original(self, kwargs)
        if changes:
            _password_changed(cluster)
        return result

    return modify


def _create_snapshot(original: Any) -> Any:
    @functools.wraps(original)
    def create(self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
        instance = self.databases.get(db_instance_identifier)
        status = _in_phase(instance) if instance is not None else None
        if status is not None:
            raise InvalidDBInstanceState(
                f"Instance {db_instance_identifier} is not in available state (its status is {status})."
            )
        return original(self, db_instance_identifier, *args, **kwargs)

    return create


# --- install ---------------------------------------------------------------------------------------------------


@on_reset
def _stop_servers() -> None:
    rds_postgres.stop_all()
    rds_mysql.stop_all()


def apply() -> None:
    if getattr(RDSBackend.delete_db_instance, "_offsite_restore", False):
        return
    # The restores read what rds_content gave the new resource: wrap around it.
    rds_content.apply()
    DBInstance.status = property(_instance_status_get, _instance_status_set)  # type: ignore[assignment]
    DBCluster.status = property(_cluster_status_get, _cluster_status_set)  # type: ignore[assignment]
    DBInstance.endpoint = property(_instance_endpoint)  # type: ignore[assignment]
    DBCluster.endpoint = property(_cluster_endpoint)  # type: ignore[assignment]
    DBCluster.reader_endpoint = property(_cluster_reader_endpoint)  # type: ignore[assignment]
    DBCluster.port = property(_cluster_port_get, _cluster_port_set)  # type: ignore[assignment]
    RDSResponse.backend = property(_purged_backend)  # type: ignore[assignment]
    RDSResponse.global_backend = property(_purged_global_backend)  # type: ignore[assignment]
    MasterUserSecret._generate_secret_string = _generate_secret_string  # type: ignore[method-assign]
    MasterUserSecret.rotate_secret = _rotate_secret  # type: ignore[method-assign]
    wrapped = {
        "restore_db_instance_from_db_snapshot": _restore_instance(RDSBackend.restore_db_instance_from_db_snapshot),
        "restore_db_cluster_from_snapshot": _restore_cluster(RDSBackend.restore_db_cluster_from_snapshot),
        "create_db_instance": _create_instance(RDSBackend.create_db_instance),
        "delete_db_instance": _delete_instance(RDSBackend.delete_db_instance),
        "delete_db_cluster": _delete_cluster(RDSBackend.delete_db_cluster),
        "modify_db_instance": _modify_instance(RDSBackend.modify_db_instance),
        "modify_db_cluster": _modify_cluster(RDSBackend.modify_db_cluster),
        "create_db_snapshot": _create_snapshot(RDSBackend.create_db_snapshot),
    }
    for name, method in wrapped.items():
        method._offsite_restore = True  # type: ignore[attr-defined]
        setattr(RDSBackend, name, method)
    RDSResponse.delete_db_cluster = _delete_cluster_response(RDSResponse.delete_db_cluster)  # type: ignore[method-assign]
