"""Base classes shared by every app's API schemas."""

from ninja import Schema
from pydantic import ConfigDict


class InputSchema(Schema):
    """A request body: an unknown key is a mistake (e.g. trying to PATCH `code`), so it is
    refused with a 422 that names it instead of being silently ignored."""

    model_config = ConfigDict(extra="forbid")
