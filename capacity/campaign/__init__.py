"""A campaign: the runs of an allocation period and the request they make.

- `spec`: the campaign file's schema (frozen pydantic models, constants with sources);
- `plan`: `plan_campaign`, the request per system and quarter (`runs` costs one entry);
- `result`: the costed plan (`CampaignPlan`, `RunPlan`, `SystemPlan`) and its JSON;
- `io`: the edge that reads a campaign TOML file and resolves it against the catalog.
"""

from capacity.campaign.plan import add_months, plan_campaign, quarters_of
from capacity.campaign.result import (
    CampaignPlan,
    CampaignWarning,
    Quarter,
    RunPlan,
    SystemPlan,
)
from capacity.campaign.spec import (
    BYTES_PER_TB,
    CHECKPOINT_BYTES_FULL_STATE,
    CHECKPOINT_BYTES_WEIGHTS,
    DEFAULT_CHECKPOINTS_KEPT,
    MONTHS_PER_QUARTER,
    RUN_KINDS,
    Campaign,
    CampaignError,
    CampaignInfo,
    CampaignRun,
    CampaignSystem,
    RunKind,
    StorageInfo,
)

__all__ = [
    "BYTES_PER_TB",
    "CHECKPOINT_BYTES_FULL_STATE",
    "CHECKPOINT_BYTES_WEIGHTS",
    "DEFAULT_CHECKPOINTS_KEPT",
    "MONTHS_PER_QUARTER",
    "RUN_KINDS",
    "Campaign",
    "CampaignError",
    "CampaignInfo",
    "CampaignPlan",
    "CampaignRun",
    "CampaignSystem",
    "CampaignWarning",
    "Quarter",
    "RunKind",
    "RunPlan",
    "StorageInfo",
    "SystemPlan",
    "add_months",
    "plan_campaign",
    "quarters_of",
]
