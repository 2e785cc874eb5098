"""Parallelism planner: layout search space, collective costs, step-time model, search."""

from capacity.planner.search import Plan, PlanChoice, PlanRequest, anchor_scale, plan
from capacity.planner.space import Rejection, SearchSpace

__all__ = ["Plan", "PlanChoice", "PlanRequest", "Rejection", "SearchSpace", "anchor_scale", "plan"]
