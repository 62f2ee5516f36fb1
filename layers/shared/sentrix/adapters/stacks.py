"""CloudFormation, as the deploy hook sees it: the status of its own stack (is this request part of a rollback?)."""

from __future__ import annotations

from typing import Protocol

from sentrix.adapters.aws import client


class StackStatus(Protocol):
    def __call__(self, stack_id: str) -> str: ...


def describe_stack_status(stack_id: str) -> str:
    """The current status of the stack `stack_id` (e.g. UPDATE_IN_PROGRESS, UPDATE_ROLLBACK_IN_PROGRESS).

    DescribeStacks on the stack's id: the migrate function may describe its own stack and no other.
    """
    (stack,) = client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"]
    return str(stack["StackStatus"])
