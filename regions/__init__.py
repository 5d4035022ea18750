"""Many columns and how they are wired: regions, voting, hierarchies, worlds, dynamics, YAML, CLI."""

__version__ = "0.1.0"
