"""Waiting for Meilisearch tasks, with a failed task raised rather than returned."""

from __future__ import annotations

from typing import Final

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchTaskFailedError
from meilisearch_python_sdk.models.task import TaskInfo, TaskResult

# Long enough for a settings change on a large index; a task still running then is an error.
TASK_TIMEOUT_MS: Final = 120_000


class TaskFailedError(MeilisearchTaskFailedError):
    """A Meilisearch task ended in any status but `succeeded`; carries Meilisearch's error."""

    def __init__(self, result: TaskResult) -> None:
        error = result.error or {}
        super().__init__(
            f"task {result.uid} ({result.task_type}) on {result.index_uid}: {result.status}: "
            f"{error.get('code', '')} {error.get('message', '')}".rstrip()
        )
        self.result = result


async def wait(client: AsyncClient, task: TaskInfo, *, timeout_ms: int = TASK_TIMEOUT_MS) -> TaskResult:
    """Wait for `task` to finish; raise unless it succeeded.

    The SDK's `wait_for_task` returns a failed task as a normal result unless asked, and with
    `raise_for_status=True` its error says only "Task N failed"; this raises with the code and
    message Meilisearch gave, which is what an operator needs in the logs."""
    result = await client.wait_for_task(task.task_uid, timeout_in_ms=timeout_ms)
    if result.status != "succeeded":
        raise TaskFailedError(result)
    return result
