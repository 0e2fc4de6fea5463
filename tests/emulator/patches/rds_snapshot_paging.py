"""DescribeDBSnapshots / DescribeDBClusterSnapshots return at most ``MaxRecords`` snapshots
per call, with a ``Marker`` to continue.

AWS behaviour reproduced (DescribeDBSnapshots and DescribeDBClusterSnapshots API references,
``MaxRecords`` and ``Marker``): "The maximum number of records to include in the response. If
more records exist than the specified MaxRecords value, a pagination token called a marker is
included in the response so that you can retrieve the remaining results. Default: 100.
Constraints: Minimum 20, maximum 100." A value outside 20–100 is refused with
``InvalidParameterValue``. moto 5.2.5 returns everything in one response, which would hide
a caller that forgets to follow the marker, and makes call counts (benchmarks) meaningless.

The marker is opaque to callers; here it is the offset of the next record. Pages follow the
order moto lists in (creation order), so a listing with no changes in between sees every
snapshot exactly once. Not reproduced: markers expiring.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import InvalidParameterValue
from moto.rds.responses import RDSResponse

DEFAULT_MAX_RECORDS = 100
MARKER_PREFIX = "offsite-page-"


def _paged(original: Any, result_key: str) -> Any:
    @functools.wraps(original)
    def describe(self: RDSResponse) -> ActionResult:
        raw_max = self.params.get("MaxRecords")
        max_records = DEFAULT_MAX_RECORDS if raw_max is None else int(raw_max)
        if not 20 <= max_records <= 100:
            raise InvalidParameterValue(
                f"Invalid value {max_records} for MaxRecords. Must be between 20 and 100"
            )
        marker = self.params.get("Marker")
        start = 0
        if marker:
            if not marker.startswith(MARKER_PREFIX) or not marker[len(MARKER_PREFIX) :].isdigit():
                raise InvalidParameterValue(f"Invalid marker: {marker}")
            start = int(marker[len(MARKER_PREFIX) :])
        answer = original(self)
        result = answer.result
        if not isinstance(result, dict) or result_key not in result:
            return answer
        records = list(result[result_key])
        page = {**result, result_key: records[start : start + max_records]}
        if start + max_records < len(records):
            page["Marker"] = f"{MARKER_PREFIX}{start + max_records}"
        return ActionResult(page)

    return describe


def apply() -> None:
    """Install after every other patch of these two responses, so paging is outermost."""
    RDSResponse.describe_db_snapshots = _paged(  # type: ignore[method-assign]
        RDSResponse.describe_db_snapshots, "DBSnapshots"
    )
    RDSResponse.describe_db_cluster_snapshots = _paged(  # type: ignore[method-assign]
        RDSResponse.describe_db_cluster_snapshots, "DBClusterSnapshots"
    )
